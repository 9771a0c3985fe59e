//! # deeprecs-examples
//!
//! Runnable example programs of the DeepRecs libraries; this library is empty. Run one with
//! `cargo run -p deeprecs-examples --example NAME`:
//!
//! | example | shows |
//! | --- | --- |
//! | `quickstart` | the library API end to end on the synthetic catalog |
//! | `serve_cart` | loading a serving artifact; cart and new-product queries |
//! | `online_retail` | training and evaluation on UCI Online Retail |
//! | `custom_encoder` | a feature encoder of your own, trained with the trainer |
