//! A deterministic generator of a realistic catalog and event log with a **known ground truth**:
//! product types with complement relations (smartphone → phone case, charger …), names and
//! descriptions from type vocabularies, a brand (categorical), several categories
//! (multi-valued), Zipf popularity with a long tail, users who buy complements within days,
//! products that appear only near the end (cold start), and optionally gendered variants of
//! children's clothing ("girls' unicorn blouse" / "boys' shark tee") for bias audits.
//!
//! This is the embedded default that `deeprecs demo` runs on.
//!
//! ```
//! use deeprecs_core::synthetic::{SyntheticConfig, generate};
//! let data = generate(&SyntheticConfig { products: 300, users: 400, ..SyntheticConfig::default() })?;
//! assert_eq!(data.catalog.len(), 300);
//! assert!(data.events.len() > 1_000);
//! // Ground truth: which product types complement which.
//! let t = data.truth.type_index("smartphone").unwrap();
//! let names: Vec<&str> = data.truth.complements_of_type(t).iter()
//!     .map(|&c| data.truth.type_names[c as usize].as_str()).collect();
//! assert!(names.contains(&"phone case"));
//! // Same seed, same data.
//! let again = generate(&SyntheticConfig { products: 300, users: 400, ..SyntheticConfig::default() })?;
//! assert_eq!(again.events.events(), data.events.events());
//! # Ok::<(), deeprecs_core::Error>(())
//! ```

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, FieldValue, ProductIdx};
use crate::error::{Error, Location, Result};
use crate::events::{EventLog, EventLogBuilder};
use crate::rng::{SeededRng, WeightedIndex};
use crate::schema::FeatureSchema;
use crate::time::{DAY, format_timestamp};

/// The schema of the synthetic catalog and event log (as written to `schema.toml`).
pub const SYNTHETIC_SCHEMA: &str = r#"# Schema of the DeepRecs synthetic catalog (deeprecs synth).
id = "product_id"

[[fields]]
name = "name"
kind = "text"
max_tokens = 16
required = true

[[fields]]
name = "description"
kind = "text"
max_tokens = 48

[[fields]]
name = "brand"
kind = "categorical"

[[fields]]
name = "categories"
kind = "multi_categorical"
separator = "|"

[events]
user = "user_id"
product = "product_id"
timestamp = "timestamp"
kind = "event"
quantity = "quantity"
"#;

/// Start of the synthetic time line: 2024-01-01T00:00:00Z.
pub const START: i64 = 1_704_067_200;

/// Sizes and behaviour of the generator. Checked by [`generate`] before any work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Seed: the same config gives the same data, on every platform and version.
    pub seed: u64,
    /// Number of products (≥ number of product types, 60 or so).
    pub products: usize,
    /// Number of users.
    pub users: usize,
    /// Length of the event history in days.
    pub days: u32,
    /// Share of products introduced only in the last `cold_days` days (cold start).
    pub cold_start_share: f64,
    /// The cold-start period at the end of the history, in days.
    pub cold_days: u32,
    /// Zipf exponent of product popularity within a type (1.0: classic long tail).
    pub zipf_exponent: f64,
    /// Mean shopping sessions per user.
    pub sessions_per_user: f64,
    /// Mean follow-up purchases after a session's first purchase.
    pub follow_ups_per_session: f64,
    /// Probability that a follow-up purchase is a complement of the first (else a random
    /// product: noise).
    pub complement_prob: f64,
    /// Follow-ups happen within this many days of the first purchase.
    pub max_gap_days: f64,
    /// Probability of a browsing `view` event (random product) per purchase.
    pub view_prob: f64,
    /// Children's clothing comes in girls'/boys' variants with stereotyped motifs.
    pub gendered_variants: bool,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            products: 2_000,
            users: 3_000,
            days: 180,
            cold_start_share: 0.1,
            cold_days: 30,
            zipf_exponent: 1.0,
            sessions_per_user: 4.0,
            follow_ups_per_session: 1.5,
            complement_prob: 0.75,
            max_gap_days: 3.0,
            view_prob: 0.2,
            gendered_variants: true,
        }
    }
}

/// Who a children's product is marketed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Not a gendered product.
    Unisex,
    /// Marketed to girls.
    Girls,
    /// Marketed to boys.
    Boys,
}

/// What the generator knows and a real catalog would not: each product's type and audience,
/// which types complement which, and when each product was introduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Product type names, indexed by type number.
    pub type_names: Vec<String>,
    /// The department of each type.
    pub type_departments: Vec<String>,
    /// For each type, the types that complement it (symmetric: a ↔ b), sorted.
    pub complements: Vec<Vec<u16>>,
    /// The type of each product, indexed by [`ProductIdx`].
    pub product_type: Vec<u16>,
    /// The audience of each product.
    pub audience: Vec<Audience>,
    /// When each product became available (epoch seconds).
    pub introduced_at: Vec<i64>,
    /// Products introduced in the cold-start period (no history before it).
    pub cold_start: Vec<bool>,
    /// The start of the cold-start period (epoch seconds).
    pub cold_start_from: i64,
}

impl GroundTruth {
    /// The number of a type name.
    pub fn type_index(&self, name: &str) -> Option<u16> {
        self.type_names
            .iter()
            .position(|n| n == name)
            .map(|i| i as u16)
    }

    /// The complement types of a type.
    pub fn complements_of_type(&self, t: u16) -> &[u16] {
        &self.complements[usize::from(t)]
    }

    /// True when `b`'s type complements `a`'s type.
    pub fn is_complement(&self, a: ProductIdx, b: ProductIdx) -> bool {
        let ta = self.product_type[a.index()];
        let tb = self.product_type[b.index()];
        self.complements[usize::from(ta)].binary_search(&tb).is_ok()
    }
}

/// A generated data set: schema, catalog, events and ground truth.
#[derive(Debug, Clone)]
pub struct SyntheticData {
    /// The schema ([`SYNTHETIC_SCHEMA`]).
    pub schema: FeatureSchema,
    /// The products.
    pub catalog: Catalog,
    /// The events, sorted by time.
    pub events: EventLog,
    /// What the generator knows.
    pub truth: GroundTruth,
    /// The config that produced it.
    pub config: SyntheticConfig,
}

/// One product type: department, type name, nouns, category group, description words,
/// complement types, and whether it is children's clothing.
struct TypeDef {
    dept: &'static str,
    name: &'static str,
    nouns: &'static str,
    group: &'static str,
    words: &'static str,
    complements: &'static str,
    kids: bool,
}

macro_rules! types {
    ($( $dept:literal, $name:literal, $nouns:literal, $group:literal, $words:literal, $comp:literal, $kids:literal; )*) => {
        &[ $( TypeDef { dept: $dept, name: $name, nouns: $nouns, group: $group, words: $words, complements: $comp, kids: $kids } ),* ]
    };
}

const TYPES: &[TypeDef] = types![
    "electronics", "smartphone", "smartphone|mobile phone", "phones", "screen camera battery dual sim unlocked storage", "phone case|phone charger|screen protector|wireless earbuds", false;
    "electronics", "phone case", "phone case|protective cover", "phone accessories", "shockproof slim grip bumper silicone fits", "smartphone", false;
    "electronics", "phone charger", "fast charger|usb c charger", "phone accessories", "watt charging cable adapter plug fast", "smartphone|tablet", false;
    "electronics", "screen protector", "screen protector|tempered glass", "phone accessories", "scratch glass clear bubble free film", "smartphone|tablet", false;
    "electronics", "wireless earbuds", "wireless earbuds|earphones", "audio", "bluetooth noise cancelling bass microphone charging case", "smartphone|laptop", false;
    "electronics", "laptop", "laptop|notebook computer", "computers", "processor memory ssd display keyboard battery", "laptop bag|wireless mouse|usb hub|laptop stand", false;
    "electronics", "laptop bag", "laptop bag|laptop sleeve", "computer accessories", "padded compartment shoulder strap water resistant", "laptop", false;
    "electronics", "wireless mouse", "wireless mouse|ergonomic mouse", "computer accessories", "dpi receiver scroll wheel ergonomic click", "laptop", false;
    "electronics", "usb hub", "usb hub|docking station", "computer accessories", "ports hdmi adapter data transfer aluminium", "laptop", false;
    "electronics", "laptop stand", "laptop stand|riser", "computer accessories", "adjustable height aluminium ventilated desk", "laptop", false;
    "electronics", "tablet", "tablet|drawing tablet", "computers", "touchscreen display storage wifi battery", "tablet cover|stylus pen|phone charger|screen protector", false;
    "electronics", "tablet cover", "tablet cover|folio case", "computer accessories", "folding stand magnetic sleep wake", "tablet", false;
    "electronics", "stylus pen", "stylus pen|digital pencil", "computer accessories", "palm rejection tilt precise tip", "tablet", false;
    "electronics", "camera", "digital camera|mirrorless camera", "cameras", "megapixel sensor zoom lens autofocus video", "memory card|camera bag|tripod", false;
    "electronics", "memory card", "memory card|sd card", "camera accessories", "gb storage speed class read write", "camera", false;
    "electronics", "camera bag", "camera bag|camera backpack", "camera accessories", "padded dividers lens weatherproof", "camera", false;
    "electronics", "tripod", "tripod|travel tripod", "camera accessories", "legs ball head aluminium lightweight stable", "camera", false;
    "kitchen", "coffee maker", "coffee maker|espresso machine", "coffee", "brew bar pressure carafe programmable", "coffee beans|coffee filters|coffee mug", false;
    "kitchen", "coffee beans", "coffee beans|ground coffee", "coffee", "roast arabica aroma blend origin", "coffee maker|coffee mug", false;
    "kitchen", "coffee filters", "coffee filters|paper filters", "coffee", "paper unbleached cone pack", "coffee maker", false;
    "kitchen", "coffee mug", "coffee mug|travel mug", "tableware", "ceramic insulated handle dishwasher safe", "coffee maker|coffee beans", false;
    "kitchen", "teapot", "teapot|tea kettle", "tea", "infuser porcelain spout brew", "loose leaf tea|tea cup", false;
    "kitchen", "loose leaf tea", "loose leaf tea|herbal tea", "tea", "leaves blend organic infusion flavour", "teapot|tea cup", false;
    "kitchen", "tea cup", "tea cup|cup and saucer", "tableware", "porcelain saucer floral vintage", "teapot|loose leaf tea", false;
    "kitchen", "frying pan", "frying pan|skillet", "cookware", "non stick induction cast iron handle", "spatula|cooking oil", false;
    "kitchen", "spatula", "spatula|turner", "utensils", "silicone heat resistant flexible", "frying pan", false;
    "kitchen", "cooking oil", "olive oil|cooking oil", "pantry", "extra virgin cold pressed bottle", "frying pan", false;
    "kitchen", "chef knife", "chef knife|kitchen knife", "cutlery", "steel blade sharp forged", "cutting board|knife sharpener", false;
    "kitchen", "cutting board", "cutting board|chopping board", "utensils", "bamboo wood groove durable", "chef knife", false;
    "kitchen", "knife sharpener", "knife sharpener|whetstone", "cutlery", "grit stone honing angle", "chef knife", false;
    "outdoor", "tent", "tent|dome tent", "camping", "waterproof poles person pitch", "sleeping bag|camping stove|headlamp", false;
    "outdoor", "sleeping bag", "sleeping bag|mummy bag", "camping", "insulated season warm zip", "tent", false;
    "outdoor", "camping stove", "camping stove|gas burner", "camping", "portable burner fuel ignition", "tent|gas canister", false;
    "outdoor", "gas canister", "gas canister|fuel cartridge", "camping", "butane propane refill", "camping stove", false;
    "outdoor", "headlamp", "headlamp|head torch", "camping", "lumens led rechargeable beam", "tent", false;
    "outdoor", "bbq grill", "bbq grill|charcoal grill", "barbecue", "grate lid smoker cooking outdoor", "grill tongs|charcoal|bbq sauce", false;
    "outdoor", "grill tongs", "grill tongs|bbq tool set", "barbecue", "stainless long handle tools", "bbq grill", false;
    "outdoor", "charcoal", "charcoal|briquettes", "barbecue", "lumpwood burn bag kg", "bbq grill", false;
    "outdoor", "bbq sauce", "bbq sauce|smoky sauce", "pantry", "smoky sweet marinade bottle", "bbq grill", false;
    "sports", "running shoes", "running shoes|trainers", "footwear", "cushioned lightweight breathable sole", "sports socks|water bottle|running shorts", false;
    "sports", "sports socks", "sports socks|ankle socks", "sportswear", "moisture wicking cushioned pack", "running shoes", false;
    "sports", "water bottle", "water bottle|sports bottle", "sports accessories", "bpa free leak proof litre", "running shoes|yoga mat|bicycle", false;
    "sports", "running shorts", "running shorts|gym shorts", "sportswear", "quick dry pocket lined", "running shoes", false;
    "sports", "yoga mat", "yoga mat|exercise mat", "fitness", "non slip thick cushioning", "yoga block|yoga strap|water bottle", false;
    "sports", "yoga block", "yoga block|foam block", "fitness", "foam support balance", "yoga mat", false;
    "sports", "yoga strap", "yoga strap|stretch band", "fitness", "cotton buckle stretch", "yoga mat", false;
    "sports", "bicycle", "bicycle|mountain bike", "cycling", "gears frame wheels brakes suspension", "bike helmet|bike lock|bike light|water bottle", false;
    "sports", "bike helmet", "bike helmet|cycling helmet", "cycling", "vents adjustable safety certified", "bicycle", false;
    "sports", "bike lock", "bike lock|d lock", "cycling", "security hardened steel key", "bicycle", false;
    "sports", "bike light", "bike light|led bike light", "cycling", "usb rechargeable lumens front rear", "bicycle", false;
    "pets", "dog food", "dog food|dry dog food", "dog", "chicken grain free nutrition kibble", "dog bowl|dog treats", false;
    "pets", "dog bowl", "dog bowl|feeding bowl", "dog", "stainless non slip feeder", "dog food", false;
    "pets", "dog treats", "dog treats|chews", "dog", "chew dental natural snack", "dog food|dog leash", false;
    "pets", "dog leash", "dog leash|lead", "dog", "reflective nylon clip walking", "dog collar|poop bags|dog treats", false;
    "pets", "dog collar", "dog collar|collar", "dog", "adjustable buckle padded", "dog leash", false;
    "pets", "poop bags", "poop bags|waste bags", "dog", "biodegradable rolls dispenser", "dog leash", false;
    "office", "printer", "printer|inkjet printer", "printing", "wireless print scan copy", "printer ink|printer paper", false;
    "office", "printer ink", "ink cartridge|printer ink", "printing", "cartridge black colour yield", "printer", false;
    "office", "printer paper", "printer paper|copy paper", "printing", "sheets gsm ream white", "printer", false;
    "kids", "kids top", "top|tee|shirt", "kids clothing", "cotton soft print crew neck", "kids bottoms|kids shoes", true;
    "kids", "kids bottoms", "leggings|shorts|joggers", "kids clothing", "stretch elastic waist comfy", "kids top|kids shoes", true;
    "kids", "kids shoes", "sneakers|sandals", "kids footwear", "velcro light sole play", "kids top|kids bottoms", true;
    "kids", "kids pyjamas", "pyjamas|pajama set", "kids nightwear", "cosy sleep brushed cotton", "kids slippers", true;
    "kids", "kids slippers", "slippers|house shoes", "kids nightwear", "warm fleece non slip", "kids pyjamas", true;
];

const ADJECTIVES: &[&str] = &[
    "classic",
    "premium",
    "compact",
    "deluxe",
    "essential",
    "pro",
    "ultra",
    "eco",
    "smart",
    "everyday",
    "heavy duty",
    "lightweight",
    "original",
    "sport",
    "vintage",
];
const COLOURS: &[&str] = &[
    "black", "white", "grey", "blue", "red", "green", "navy", "silver", "pink", "yellow",
];
const GIRLS_MOTIFS: &[&str] = &[
    "unicorn",
    "princess",
    "rainbow",
    "butterfly",
    "flower",
    "glitter",
];
const BOYS_MOTIFS: &[&str] = &["shark", "dinosaur", "rocket", "truck", "robot", "football"];
const UNISEX_MOTIFS: &[&str] = &["star", "stripe", "animal", "space", "heart"];
const GIRLS_NOUNS: &[&str] = &["blouse", "dress", "skirt", "top", "leggings", "sandals"];
const BOYS_NOUNS: &[&str] = &["tee", "shirt", "shorts", "joggers", "sneakers", "hoodie"];
const TAGS: &[&str] = &["gift idea", "bestseller", "new in", "sale", "eco friendly"];
const FILLER: &[&str] = &[
    "quality", "design", "perfect", "great", "value", "durable", "modern", "easy", "use", "home",
    "daily", "choice", "style", "reliable",
];

fn split(s: &'static str) -> Vec<&'static str> {
    s.split('|').collect()
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(config: &SyntheticConfig) -> Result<()> {
    let bad = |name: &'static str, message: String| Err(Error::InvalidParameter { name, message });
    if config.products < TYPES.len() {
        return bad(
            "products",
            format!(
                "must be at least {} (one per product type), got {}",
                TYPES.len(),
                config.products
            ),
        );
    }
    if config.users == 0 {
        return bad("users", "must be at least 1".into());
    }
    if config.days < 2 || config.cold_days >= config.days {
        return bad(
            "days",
            format!(
                "need days ≥ 2 and cold_days < days, got days = {}, cold_days = {}",
                config.days, config.cold_days
            ),
        );
    }
    for (name, v, lo, hi) in [
        ("cold_start_share", config.cold_start_share, 0.0, 0.9),
        ("complement_prob", config.complement_prob, 0.0, 1.0),
        ("view_prob", config.view_prob, 0.0, 1.0),
        ("zipf_exponent", config.zipf_exponent, 0.0, 5.0),
        ("sessions_per_user", config.sessions_per_user, 0.0, 1000.0),
        (
            "follow_ups_per_session",
            config.follow_ups_per_session,
            0.0,
            100.0,
        ),
        (
            "max_gap_days",
            config.max_gap_days,
            0.0,
            f64::from(config.days),
        ),
    ] {
        if !(lo..=hi).contains(&v) {
            return bad(name, format!("must be in [{lo}, {hi}], got {v}"));
        }
    }
    Ok(())
}

/// Generates a data set. Deterministic: the same config gives the same data.
pub fn generate(config: &SyntheticConfig) -> Result<SyntheticData> {
    check(config)?;
    let schema = FeatureSchema::from_toml_str(SYNTHETIC_SCHEMA, "<synthetic schema>")?;
    let n_types = TYPES.len();
    let type_index = |name: &str| TYPES.iter().position(|t| t.name == name);

    // Symmetric complement relation between types.
    let mut complements = vec![Vec::<u16>::new(); n_types];
    for (a, t) in TYPES.iter().enumerate() {
        for c in split(t.complements) {
            // The table is static; a typo is a bug in this file, caught by the tests.
            let Some(b) = type_index(c) else { continue };
            complements[a].push(b as u16);
            complements[b].push(a as u16);
        }
    }
    for c in &mut complements {
        c.sort_unstable();
        c.dedup();
    }

    let mut rng = SeededRng::fork(config.seed, 1);
    // Departments get a handful of brands each; the first brand of each is the "big" one.
    let brand_syllables = [
        "ac", "ve", "lo", "mi", "tra", "no", "zen", "ka", "ri", "on", "ex", "ul",
    ];
    let mut dept_brands: Vec<(&str, Vec<String>)> = Vec::new();
    for t in TYPES {
        if dept_brands.iter().any(|(d, _)| *d == t.dept) {
            continue;
        }
        let brands = (0..6)
            .map(|_| {
                let a = rng.choose(&brand_syllables);
                let b = rng.choose(&brand_syllables);
                let c = rng.choose(&["", "a", "ix", "o", "us"]);
                title_case(&format!("{a}{b}{c}"))
            })
            .collect();
        dept_brands.push((t.dept, brands));
    }

    // Every type gets at least one product; the rest are spread by a random type weight.
    let type_weights =
        WeightedIndex::new((0..n_types).map(|_| 0.3 + rng.next_f64())).ok_or_else(|| {
            Error::InvalidParameter {
                name: "products",
                message: "no product type".into(),
            }
        })?;
    let mut product_type: Vec<u16> = (0..n_types as u16).collect();
    while product_type.len() < config.products {
        product_type.push(type_weights.sample(&mut rng) as u16);
    }
    rng.shuffle(&mut product_type);

    let end = START + i64::from(config.days) * DAY;
    let cold_from = end - i64::from(config.cold_days) * DAY;
    let mut catalog = Catalog::new(schema.clone());
    let mut audience = Vec::with_capacity(config.products);
    let mut introduced_at = Vec::with_capacity(config.products);
    let mut cold_start = Vec::with_capacity(config.products);
    for (i, &t) in product_type.iter().enumerate() {
        let def = &TYPES[usize::from(t)];
        let brands = &dept_brands
            .iter()
            .find(|(d, _)| *d == def.dept)
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        let brand = brands[rng.index(brands.len()).min(rng.index(brands.len()))].clone();
        let colour = *rng.choose(COLOURS);
        let adjective = *rng.choose(ADJECTIVES);
        let (aud, name, extra_words) = if def.kids {
            let aud = if !config.gendered_variants || rng.chance(0.2) {
                Audience::Unisex
            } else if rng.chance(0.5) {
                Audience::Girls
            } else {
                Audience::Boys
            };
            let nouns = split(def.nouns);
            let (prefix, motif, noun) = match aud {
                Audience::Girls => {
                    let noun = if def.name == "kids top" || def.name == "kids bottoms" {
                        *rng.choose(&GIRLS_NOUNS[..5])
                    } else {
                        *rng.choose(&nouns)
                    };
                    ("girls'", *rng.choose(GIRLS_MOTIFS), noun)
                }
                Audience::Boys => {
                    let noun = if def.name == "kids top" || def.name == "kids bottoms" {
                        *rng.choose(BOYS_NOUNS)
                    } else {
                        *rng.choose(&nouns)
                    };
                    ("boys'", *rng.choose(BOYS_MOTIFS), noun)
                }
                Audience::Unisex => ("kids'", *rng.choose(UNISEX_MOTIFS), *rng.choose(&nouns)),
            };
            (
                aud,
                format!("{prefix} {motif} {colour} {noun}"),
                motif.to_owned(),
            )
        } else {
            let noun = *rng.choose(&split(def.nouns));
            (
                Audience::Unisex,
                format!("{adjective} {colour} {noun}"),
                String::new(),
            )
        };
        let words: Vec<&str> = def.words.split(' ').collect();
        let mut desc: Vec<String> = Vec::new();
        let n_words = 6 + rng.index(8);
        for _ in 0..n_words {
            let w = if rng.chance(0.6) {
                *rng.choose(&words)
            } else {
                *rng.choose(FILLER)
            };
            desc.push(w.to_owned());
        }
        if !extra_words.is_empty() {
            desc.push(extra_words);
        }
        let description = format!("{}. {}.", title_case(&name), desc.join(" "));
        let mut categories = vec![title_case(def.dept), title_case(def.group)];
        if rng.chance(0.3) {
            let tag = TAGS[rng.index(TAGS.len())];
            categories.push(title_case(tag));
        }
        let is_cold = rng.chance(config.cold_start_share);
        let intro = if is_cold {
            cold_from + rng.below((config.cold_days as u64 * DAY as u64) / 2) as i64
        } else {
            START
        };
        catalog.push(
            format!("P{i:05}"),
            vec![
                FieldValue::Text(title_case(&name)),
                FieldValue::Text(description),
                FieldValue::Categorical(brand),
                FieldValue::Multi(categories),
            ],
        )?;
        audience.push(aud);
        introduced_at.push(intro);
        cold_start.push(is_cold);
    }

    // Zipf popularity within each type: a random rank per product.
    let mut by_type: Vec<Vec<u32>> = vec![Vec::new(); n_types];
    for (p, &t) in product_type.iter().enumerate() {
        by_type[usize::from(t)].push(p as u32);
    }
    let mut popularity = vec![0.0; config.products];
    for members in &mut by_type {
        rng.shuffle(members);
        for (rank, &p) in members.iter().enumerate() {
            popularity[p as usize] = 1.0 / ((rank + 1) as f64).powf(config.zipf_exponent);
        }
    }
    // Types are bought as "anchors" with their own popularity.
    let type_pop = WeightedIndex::new((0..n_types).map(|_| 0.2 + rng.next_f64().powi(2)))
        .ok_or_else(|| Error::InvalidParameter {
            name: "products",
            message: "no product type".into(),
        })?;
    let all_pop =
        WeightedIndex::new(popularity.iter().copied()).ok_or_else(|| Error::InvalidParameter {
            name: "zipf_exponent",
            message: "popularity weights are all zero".into(),
        })?;

    // Pick a product of type `t` available at time `at`, by popularity.
    let pick = |rng: &mut SeededRng, t: usize, at: i64| -> Option<u32> {
        let members = &by_type[t];
        let mut total = 0.0;
        for &p in members {
            if introduced_at[p as usize] <= at {
                total += popularity[p as usize];
            }
        }
        if total <= 0.0 {
            return None;
        }
        let mut x = rng.next_f64() * total;
        for &p in members {
            if introduced_at[p as usize] <= at {
                x -= popularity[p as usize];
                if x < 0.0 {
                    return Some(p);
                }
            }
        }
        members
            .iter()
            .rev()
            .copied()
            .find(|&p| introduced_at[p as usize] <= at)
    };

    let mut rng = SeededRng::fork(config.seed, 2);
    let span = end - START;
    let gap = (config.max_gap_days * DAY as f64) as u64;
    let mut raw: Vec<(i64, u32, u32, bool, u8)> = Vec::new(); // (time, user, product, view, qty)
    for user in 0..config.users as u32 {
        let sessions = 1 + rng.geometric((config.sessions_per_user - 1.0).max(0.0));
        for _ in 0..sessions {
            let t0 = START + rng.below(span as u64) as i64;
            let anchor_type = type_pop.sample(&mut rng);
            let Some(anchor) = pick(&mut rng, anchor_type, t0) else {
                continue;
            };
            raw.push((t0, user, anchor, false, 1 + rng.below(3) as u8));
            let follow_ups = rng.geometric(config.follow_ups_per_session);
            for _ in 0..follow_ups {
                let t = (t0 + rng.below(gap.max(1)) as i64).min(end - 1);
                let product =
                    if rng.chance(config.complement_prob) && !complements[anchor_type].is_empty() {
                        let ct = usize::from(*rng.choose(&complements[anchor_type]));
                        pick(&mut rng, ct, t)
                    } else {
                        let p = all_pop.sample(&mut rng) as u32;
                        (introduced_at[p as usize] <= t).then_some(p)
                    };
                if let Some(p) = product {
                    raw.push((t, user, p, false, 1 + rng.below(2) as u8));
                }
            }
        }
    }
    let purchases = raw.len();
    for i in 0..purchases {
        if rng.chance(config.view_prob) {
            let (t, user, ..) = raw[i];
            let p = all_pop.sample(&mut rng) as u32;
            let t = (t - rng.below(DAY as u64) as i64).max(START);
            if introduced_at[p as usize] <= t {
                raw.push((t, user, p, true, 1));
            }
        }
    }
    raw.sort_unstable();
    let mut builder = EventLogBuilder::new();
    for (t, user, p, view, qty) in raw {
        builder.push(
            &format!("U{user:06}"),
            ProductIdx(p),
            t,
            if view { "view" } else { "purchase" },
            f32::from(qty),
            None,
        )?;
    }

    let truth = GroundTruth {
        type_names: TYPES.iter().map(|t| t.name.to_owned()).collect(),
        type_departments: TYPES.iter().map(|t| t.dept.to_owned()).collect(),
        complements,
        product_type,
        audience,
        introduced_at,
        cold_start,
        cold_start_from: cold_from,
    };
    Ok(SyntheticData {
        schema,
        catalog,
        events: builder.build(),
        truth,
        config: config.clone(),
    })
}

impl SyntheticData {
    /// Writes `schema.toml`, `catalog.csv`, `events.csv`, `ground_truth.json` and `config.json`
    /// into `dir` (created if needed). The first three are what `deeprecs inspect` and the
    /// other subcommands read.
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        let wr = |name: &str, e: std::io::Error| Error::Write {
            at: Location::file(dir.join(name).display().to_string()),
            source: e,
        };
        fs::create_dir_all(dir).map_err(|e| wr("", e))?;
        fs::write(dir.join("schema.toml"), SYNTHETIC_SCHEMA).map_err(|e| wr("schema.toml", e))?;

        let csv_err = |name: &str, e: csv::Error| wr(name, std::io::Error::other(e.to_string()));
        let mut w = csv::Writer::from_path(dir.join("catalog.csv"))
            .map_err(|e| csv_err("catalog.csv", e))?;
        w.write_record(["product_id", "name", "description", "brand", "categories"])
            .map_err(|e| csv_err("catalog.csv", e))?;
        for p in self.catalog.iter() {
            let mut rec = vec![p.id.to_owned()];
            rec.extend(p.values.iter().map(FieldValue::display));
            w.write_record(&rec)
                .map_err(|e| csv_err("catalog.csv", e))?;
        }
        w.flush().map_err(|e| wr("catalog.csv", e))?;

        let mut w =
            csv::Writer::from_path(dir.join("events.csv")).map_err(|e| csv_err("events.csv", e))?;
        w.write_record(["user_id", "product_id", "timestamp", "event", "quantity"])
            .map_err(|e| csv_err("events.csv", e))?;
        for e in self.events.events() {
            w.write_record([
                self.events.user_id(e.user),
                self.catalog.id(e.product),
                &format_timestamp(e.timestamp),
                &self.events.kinds()[usize::from(e.kind.0)],
                &e.quantity.to_string(),
            ])
            .map_err(|e| csv_err("events.csv", e))?;
        }
        w.flush().map_err(|e| wr("events.csv", e))?;

        fs::write(dir.join("ground_truth.json"), pretty_json(&self.truth))
            .map_err(|e| wr("ground_truth.json", e))?;
        fs::write(dir.join("config.json"), pretty_json(&self.config))
            .map_err(|e| wr("config.json", e))?;
        Ok(())
    }
}

/// Pretty JSON of plain data (serialising these types, with string keys only, cannot fail).
fn pretty_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticConfig {
        SyntheticConfig {
            products: 400,
            users: 600,
            ..SyntheticConfig::default()
        }
    }

    #[test]
    fn type_table_is_consistent() {
        for t in TYPES {
            for c in split(t.complements) {
                assert!(
                    TYPES.iter().any(|u| u.name == c),
                    "{}: unknown complement {c}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn deterministic_and_seed_sensitive() {
        let a = generate(&small()).unwrap();
        let b = generate(&small()).unwrap();
        assert_eq!(a.catalog, b.catalog);
        assert_eq!(a.events, b.events);
        let c = generate(&SyntheticConfig { seed: 7, ..small() }).unwrap();
        assert_ne!(a.events, c.events);
    }

    #[test]
    fn follow_ups_are_mostly_complements() {
        let d = generate(&small()).unwrap();
        // Consecutive purchases of one user within the gap: most pairs should be complements
        // of each other (anchor → follow-up), far above the base rate of random pairs.
        let purchase = d.events.kind_index("purchase").unwrap();
        let mut by_user: Vec<Vec<(i64, ProductIdx)>> = vec![Vec::new(); d.events.user_count()];
        for e in d.events.events().iter().filter(|e| e.kind == purchase) {
            by_user[e.user.index()].push((e.timestamp, e.product));
        }
        let (mut pairs, mut comp) = (0u32, 0u32);
        for evs in &by_user {
            for w in evs.windows(2) {
                if w[1].0 - w[0].0 <= 3 * DAY {
                    pairs += 1;
                    comp += u32::from(d.truth.is_complement(w[0].1, w[1].1));
                }
            }
        }
        let share = f64::from(comp) / f64::from(pairs);
        // Anchor → follow-up pairs are complements; follow-up → follow-up pairs (two
        // complements of one anchor) mostly are not, so about a third is expected.
        assert!(pairs > 500 && share > 0.25, "{comp}/{pairs}");
        // Random pairs are complements rarely.
        let mut rng = SeededRng::new(1);
        let random = (0..5000)
            .filter(|_| {
                let a = ProductIdx(rng.below(400) as u32);
                let b = ProductIdx(rng.below(400) as u32);
                d.truth.is_complement(a, b)
            })
            .count();
        assert!((random as f64 / 5000.0) < share / 4.0, "{random}");
    }

    #[test]
    fn cold_products_have_no_early_events() {
        let d = generate(&small()).unwrap();
        let cold = d.truth.cold_start.iter().filter(|&&c| c).count();
        assert!((20..80).contains(&cold), "{cold}");
        for e in d.events.events() {
            assert!(e.timestamp >= d.truth.introduced_at[e.product.index()]);
            if d.truth.cold_start[e.product.index()] {
                assert!(e.timestamp >= d.truth.cold_start_from);
            }
        }
    }

    #[test]
    fn long_tail_exists() {
        let d = generate(&small()).unwrap();
        let mut counts = d.events.events_per_product(d.catalog.len());
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top_decile: u32 = counts[..40].iter().sum();
        let total: u32 = counts.iter().sum();
        assert!(
            f64::from(top_decile) / f64::from(total) > 0.3,
            "{top_decile}/{total}"
        );
        assert!(counts.iter().filter(|&&c| c < 5).count() > 40);
    }

    #[test]
    fn gendered_variants_are_named() {
        let d = generate(&small()).unwrap();
        let names: Vec<String> = (0..d.catalog.len() as u32)
            .map(|i| d.catalog.label(ProductIdx(i)))
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("Girls'")),
            "no girls' product"
        );
        assert!(
            names.iter().any(|n| n.starts_with("Boys'")),
            "no boys' product"
        );
        for (i, n) in names.iter().enumerate() {
            match d.truth.audience[i] {
                Audience::Girls => assert!(n.starts_with("Girls'"), "{n}"),
                Audience::Boys => assert!(n.starts_with("Boys'"), "{n}"),
                Audience::Unisex => assert!(!n.starts_with("Girls'") && !n.starts_with("Boys'")),
            }
        }
        let off = generate(&SyntheticConfig {
            gendered_variants: false,
            ..small()
        })
        .unwrap();
        assert!(off.truth.audience.iter().all(|a| *a == Audience::Unisex));
    }

    #[test]
    fn bad_configs_are_rejected_up_front() {
        for c in [
            SyntheticConfig {
                products: 3,
                ..small()
            },
            SyntheticConfig {
                users: 0,
                ..small()
            },
            SyntheticConfig {
                cold_days: 200,
                ..small()
            },
            SyntheticConfig {
                complement_prob: 1.5,
                ..small()
            },
            SyntheticConfig {
                zipf_exponent: f64::NAN,
                ..small()
            },
        ] {
            assert!(
                matches!(generate(&c), Err(Error::InvalidParameter { .. })),
                "{c:?}"
            );
        }
    }
}
