//! Renders the experiments' SVG plots to PNG with `resvg` (`usvg` + `tiny-skia`), using the
//! system's fonts.

use crate::error::{NativeError, Result};
use resvg::{tiny_skia, usvg};
use std::path::Path;

/// Families tried, in order, for the SVG's generic `sans-serif`.
const SANS: &[&str] =
    &["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans", "Bitstream Vera Sans"];

/// A rendered plot.
#[derive(Debug)]
pub struct Png {
    /// The encoded PNG file.
    pub bytes: Vec<u8>,
    /// Whether a font was found: without one the lines and points are drawn but no text.
    pub has_text: bool,
}

/// Renders `svg` at `scale` times its size (2.0 gives a sharp 1440 x 880 image for the
/// experiments' 720 x 440 plots).
pub fn render(svg: &str, scale: f32) -> Result<Png> {
    render_with_fonts(svg, scale, true)
}

fn render_with_fonts(svg: &str, scale: f32, system_fonts: bool) -> Result<Png> {
    let mut opt = usvg::Options::default();
    let db = opt.fontdb_mut();
    if system_fonts {
        db.load_system_fonts();
    }
    let has_text = !db.is_empty();
    let family = SANS
        .iter()
        .find(|name| db.faces().any(|f| f.families.iter().any(|(fam, _)| fam == *name)))
        .map(|s| (*s).to_string())
        .or_else(|| db.faces().next().and_then(|f| f.families.first().map(|(fam, _)| fam.clone())));
    if let Some(family) = family {
        db.set_sans_serif_family(family);
    }
    let tree = usvg::Tree::from_str(svg, &opt)
        .map_err(|e| NativeError::Plot(format!("cannot parse the SVG plot: {e}")))?;
    let size =
        tree.size().to_int_size().scale_by(scale).ok_or_else(|| NativeError::Plot("empty plot".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        NativeError::Plot(format!("cannot allocate a {}x{} image", size.width(), size.height()))
    })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    let bytes = pixmap.encode_png().map_err(|e| NativeError::Plot(format!("cannot encode PNG: {e}")))?;
    Ok(Png { bytes, has_text })
}

/// Renders `svg` into the PNG file `path`; warns on stderr when no font was found.
pub fn write(svg: &str, path: &Path) -> Result<()> {
    let png = render(svg, 2.0)?;
    if !png.has_text {
        eprintln!("warning: no system font found; {} has the plot's lines but no text", path.display());
    }
    std::fs::write(path, &png.bytes)
        .map_err(|e| NativeError::OutputFile { path: path.to_path_buf(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\"><line x1=\"0\" y1=\"0\" x2=\"40\" y2=\"20\" stroke=\"black\"/><text x=\"2\" y=\"12\" font-family=\"sans-serif\">hi</text></svg>";
        let png = render(svg, 1.0).unwrap();
        assert_eq!(&png.bytes[1..4], b"PNG");
        assert!(render("<not svg", 1.0).is_err());
    }

    #[test]
    fn without_fonts_the_lines_are_still_drawn() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/><line x1=\"0\" y1=\"10\" x2=\"40\" y2=\"10\" stroke=\"black\" stroke-width=\"4\"/><text x=\"2\" y=\"12\">hi</text></svg>";
        let png = render_with_fonts(svg, 1.0, false).unwrap();
        assert!(!png.has_text);
        let pixmap = tiny_skia::Pixmap::decode_png(&png.bytes).unwrap();
        // The line's row is dark.
        let px = pixmap.pixel(20, 10).unwrap();
        assert!(px.red() < 50 && px.alpha() == 255, "{px:?}");
    }
}
