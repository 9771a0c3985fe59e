//! Empty placeholder for `burn-tch` 0.22.1 (Burn's LibTorch backend). See `README.md` beside
//! this file: it exists only so that Cargo can resolve the DeepRecs workspace together with
//! rust-bert 0.23. It is never built unless something enables Burn's `tch` feature, and then it
//! stops the build with a clear message.

compile_error!(
    "the DeepRecs workspace replaces burn-tch with an empty placeholder (shims/burn-tch) so that \
     rust-bert 0.23 can be used; Burn's `tch` backend is not available here. Use Burn's flex, \
     ndarray, wgpu or cuda backends, or remove the [patch.crates-io] entry (and the rust-bert \
     feature) from the workspace Cargo.toml."
);
