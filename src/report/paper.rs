//! The paper's own figures, so every reproduced table can put them beside ours. Quoted from
//! Umar, "TTV-HRM: A Hierarchical Reasoning Architecture for Efficient Text-to-Video
//! Generation" (github.com/codewithdark-git/TTV-HRM), Tables I, II and III; nothing here is derived.

/// Where the figures come from, as the report cites it.
pub const CITATION: &str = "A. Umar, \u{201c}TTV-HRM: A Hierarchical Reasoning Architecture for Efficient \
Text-to-Video Generation\u{201d}, Tables I, II and III (single NVIDIA T4, 16 GB; 3 epochs on 45 train / 5 eval pairs)";

/// Table II, one row per epoch: "Epoch 1 (Early) 0.45 120.5 2.8 / Epoch 2 (Mid) 0.32 85.2 2.3 /
/// Epoch 3 (Final) 0.28 62.1 2.1". The paper computes recon. MSE on the training set and FID
/// frame-wise on the 5-pair evaluation split.
pub const TABLE_II_QUOTE: &str = "Training Phase | Recon. MSE \u{2193} | FID \u{2193} | Avg. Steps \u{2193}: \
Epoch 1 (Early) 0.45 | 120.5 | 2.8; Epoch 2 (Mid) 0.32 | 85.2 | 2.3; Epoch 3 (Final) 0.28 | 62.1 | 2.1";

/// One row of Table II.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRow {
    pub epoch: u32,
    pub recon_mse: f64,
    pub fid: f64,
    pub avg_steps: f64,
}

pub const TABLE_II: [EpochRow; 3] = [
    EpochRow { epoch: 1, recon_mse: 0.45, fid: 120.5, avg_steps: 2.8 },
    EpochRow { epoch: 2, recon_mse: 0.32, fid: 85.2, avg_steps: 2.3 },
    EpochRow { epoch: 3, recon_mse: 0.28, fid: 62.1, avg_steps: 2.1 },
];

/// Table II's name for the row of `epoch`: "Epoch 1 (Early)", as printed.
pub fn phase(epoch: u32) -> String {
    let word = match epoch {
        1 => " (Early)",
        2 => " (Mid)",
        3 => " (Final)",
        _ => "",
    };
    format!("Epoch {epoch}{word}")
}

/// The paper's Table II value of `metric` (`recon_mse`, `fid`, `avg_steps`) at `epoch`.
pub fn table_ii(metric: &str, epoch: u32) -> Option<f64> {
    let row = TABLE_II.iter().find(|r| r.epoch == epoch)?;
    match metric {
        "recon_mse" => Some(row.recon_mse),
        "fid" => Some(row.fid),
        "avg_steps" => Some(row.avg_steps),
        _ => None,
    }
}

/// One line of Table III: the paper's words, and the number they state in our result's unit
/// (an approximate value or an upper bound, as `text` says).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    /// Our results key this line compares with.
    pub key: &'static str,
    /// Exactly as printed in Table III.
    pub text: &'static str,
    /// The stated number in the unit of `key` (bytes are decimal: 1 MB = 10^6 B, 1 GB = 10^9 B).
    pub value: f64,
}

/// Table III ("Computational resource profile of TTV-HRM measured on a single NVIDIA T4 GPU
/// (16 GB VRAM)").
pub const TABLE_III: [Figure; 6] = [
    Figure { key: "params", text: "~115 million", value: 115e6 },
    Figure { key: "ckpt_bytes", text: "\u{2248}480 MB", value: 480e6 },
    Figure { key: "peak_mem_bytes", text: "<8 GB", value: 8e9 },
    Figure { key: "peak_infer_mem_bytes", text: "<4 GB", value: 4e9 },
    Figure { key: "train_s", text: "\u{2248}4 hours", value: 4.0 * 3600.0 },
    Figure { key: "gen_ms_b1", text: "<1 second", value: 1000.0 },
];

pub fn table_iii(key: &str) -> Option<&'static Figure> {
    TABLE_III.iter().find(|f| f.key == key)
}

/// What a Table I entry states, to tell whether our resolved value differs from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stated {
    /// One number (256, 1e-4).
    Exact(f64),
    /// A range, both ends included ("4\u{2013}6 total").
    Range(f64, f64),
    /// About this much ("~115M"): within 10%.
    About(f64),
    /// A name ("AdamW"), compared without case.
    Name(&'static str),
}

impl Stated {
    /// Whether `ours` (a number, or a name) agrees with the paper.
    pub fn agrees(&self, ours: &str) -> bool {
        let x = ours.parse::<f64>().ok();
        match (*self, x) {
            (Stated::Exact(p), Some(x)) => (x - p).abs() <= 1e-12 * p.abs().max(1.0),
            (Stated::Range(lo, hi), Some(x)) => (lo..=hi).contains(&x),
            (Stated::About(p), Some(x)) => (x - p).abs() <= 0.1 * p.abs(),
            (Stated::Name(n), _) => n.eq_ignore_ascii_case(ours),
            _ => false,
        }
    }
}

/// One column of Table I beside ours: our key, the paper's parameter name and value exactly as
/// printed, and what that value states.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub key: &'static str,
    pub name: &'static str,
    pub text: &'static str,
    pub stated: Stated,
}

/// Table I ("Key hyperparameters of TTV-HRM"), the entries a variant's spec sets. The optimizer
/// is named in Table I's learning-rate row ("AdamW peak LR after warmup"); the epochs are in
/// Section VI-A ("trained for 3 epochs"), not in Table I.
pub const TABLE_I: [Hyper; 10] = [
    Hyper { key: "hidden", name: "Hidden Dimension", text: "256", stated: Stated::Exact(256.0) },
    Hyper { key: "heads", name: "Attention Heads", text: "8", stated: Stated::Exact(8.0) },
    Hyper { key: "hl_layers", name: "H/L Transformer Layers", text: "4\u{2013}6 total", stated: Stated::Range(4.0, 6.0) },
    Hyper { key: "max_steps", name: "Maximum Reasoning Steps", text: "3", stated: Stated::Exact(3.0) },
    Hyper { key: "threshold", name: "Early Stopping Threshold", text: "0.5", stated: Stated::Exact(0.5) },
    Hyper { key: "optimizer", name: "Peak Learning Rate (optimizer)", text: "AdamW", stated: Stated::Name("adamw") },
    Hyper { key: "lr", name: "Peak Learning Rate", text: "1 \u{d7} 10\u{207b}\u{2074}", stated: Stated::Exact(1e-4) },
    Hyper {
        key: "batch",
        name: "Effective batch (Physical Batch Size \u{d7} Gradient Accumulation)",
        text: "2 \u{d7} 8 steps = 16",
        stated: Stated::Exact(16.0),
    },
    Hyper { key: "epochs", name: "Epochs (Section VI-A)", text: "3", stated: Stated::Exact(3.0) },
    Hyper { key: "params", name: "Total Parameters", text: "~115M", stated: Stated::About(115e6) },
];
