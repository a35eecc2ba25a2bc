//! The plots' font, compiled in: DejaVu Sans from Debian's fonts-dejavu-core (Bitstream Vera
//! licence, assets/fonts/LICENSE-DejaVu.txt), so labels render on a machine with no fonts.

use std::sync::Once;

use plotters::style::{FontStyle, register_font};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Register the font as plotters' `sans-serif` (every style falls back to it); idempotent.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("the vendored DejaVu Sans is not a valid font");
        }
    });
}
