//! Data: shapes determinism and ground truth, splits, folder and FineVideo loading, batches.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::Workspace;
use ttv::data::shapes::{self, Background, Colour, Motion, Object};
use ttv::data::{self, Dataset, LoadOptions, Loader, Source, VideoShape};
use ttv::spec::types::{DataKind, DataSpec, SplitKind};

fn shapes_spec(samples: u64) -> DataSpec {
    DataSpec { samples, ..DataSpec::default() }
}

fn load(spec: &DataSpec) -> data::Data {
    data::load(spec, &LoadOptions::default()).expect("load")
}

// ------------------------------------------------------------------------------------------
// shapes: determinism

/// Pinned: the first 100 samples of `samples: 100, seed: 0` at 8x32x32, train then eval. A change
/// here means every stored shapes run was trained on different data: bump the data version.
const GOLDEN_FINGERPRINT: &str = "c25ed8c586be97d0452a1864b99d5a559a847d74b649933a6346666a4c45be87";

fn fingerprint_with_threads(threads: usize) -> String {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let d = load(&shapes_spec(100));
        let mut samples = d.train.take(100);
        samples.extend(d.eval.take(100));
        data::fingerprint(&samples)
    })
}

#[test]
fn shapes_same_bytes_across_runs_and_thread_counts() {
    let one = fingerprint_with_threads(1);
    let two = fingerprint_with_threads(2);
    let four = fingerprint_with_threads(4);
    assert_eq!(one, two);
    assert_eq!(one, four);
    assert_eq!(one, fingerprint_with_threads(1), "second run differs");
    assert_eq!(one, GOLDEN_FINGERPRINT, "shapes bytes changed (across versions or machines)");
}

#[test]
fn shapes_seed_and_nuisance_change_the_data() {
    let a = load(&shapes_spec(20)).train.fingerprint(20);
    let mut spec = shapes_spec(20);
    spec.seed = 1;
    assert_ne!(a, load(&spec).train.fingerprint(20));
    let mut spec = shapes_spec(20);
    spec.shapes.random_position = true;
    assert_ne!(a, load(&spec).train.fingerprint(20));
}

#[test]
fn shapes_values_and_layout() {
    for (t, h, w) in [(8, 32, 32), (16, 64, 64), (4, 24, 40)] {
        let spec = DataSpec { frames: t, height: h, width: w, ..shapes_spec(10) };
        let d = load(&spec);
        for s in d.train.take(10) {
            assert_eq!(s.video.len(), 3 * (t * h * w) as usize);
            assert!(s.video.iter().all(|v| (-1.0..=1.0).contains(v) && v.is_finite()));
        }
        // Antialiased: some pixels are strictly between background and object colour.
        let shape = VideoShape::new(t as usize, h as usize, w as usize);
        let video = shapes::render_prompt("a red ball moving left to right", shape).unwrap().1;
        let bg = Background::Dark.rgb()[0] / 127.5 - 1.0;
        let red = Colour::Red.rgb()[0] / 127.5 - 1.0;
        let partial =
            video[..(t * h * w) as usize].iter().filter(|&&v| (v as f64) > bg + 0.05 && (v as f64) < red - 0.05).count();
        assert!(partial > 0, "no antialiased edge pixels at {t}x{h}x{w}");
    }
}

// ------------------------------------------------------------------------------------------
// shapes: captions and ground truth

fn attrs(object: Object, colour: Colour, motion: Motion, to: Option<Colour>) -> shapes::Attributes {
    shapes::Attributes { object, colour, motion, colour_to: to, background: Background::Dark }
}

#[test]
fn paper_prompts_parse_and_open_the_training_set() {
    use Colour::*;
    let expected = [
        attrs(Object::Ball, Red, Motion::LeftToRight, None),
        attrs(Object::Square, Blue, Motion::RotateClockwise, None),
        attrs(Object::Ball, Green, Motion::Fade, Some(Yellow)),
        attrs(Object::Bar, White, Motion::UpAndDown, None),
        attrs(Object::Triangle, White, Motion::Appear, None),
    ];
    for (p, e) in shapes::PAPER_PROMPTS.iter().zip(&expected) {
        assert_eq!(shapes::parse_prompt(p).unwrap(), *e, "{p}");
        assert!(e.is_valid(), "{p}");
    }
    // Heldout training starts with them verbatim; so does the random split's source.
    let spec = DataSpec { split: SplitKind::Heldout, ..shapes_spec(50) };
    let d = load(&spec);
    for (i, (p, e)) in shapes::PAPER_PROMPTS.iter().zip(&expected).enumerate() {
        let s = d.train.get(i);
        assert_eq!(s.caption, *p);
        assert_eq!(s.attributes, Some(*e));
        let (a, video) = shapes::render_prompt(p, VideoShape::new(8, 32, 32)).unwrap();
        assert_eq!(a, *e);
        assert_eq!(video, s.video, "{p}: sample differs from the prompt's rendering");
    }
}

#[test]
fn every_caption_parses_back_to_its_ground_truth() {
    let spec = DataSpec { frames: 2, height: 8, width: 8, ..shapes_spec(3000) };
    let d = load(&spec);
    let src = d.train;
    let mut motions = BTreeSet::new();
    let mut objects = BTreeSet::new();
    let mut backgrounds = BTreeSet::new();
    let mut colours = BTreeSet::new();
    let mut captions = BTreeSet::new();
    for i in 0..src.len() {
        let s = src.get(i);
        let a = s.attributes.unwrap();
        assert!(a.is_valid(), "{a:?}");
        assert_eq!(shapes::parse_prompt(&s.caption).unwrap(), a, "caption {:?}", s.caption);
        motions.insert(a.motion);
        objects.insert(a.object);
        backgrounds.insert(a.background);
        colours.insert(a.colour);
        captions.insert(s.caption);
    }
    assert_eq!(motions.len(), Motion::ALL.len());
    assert_eq!(objects.len(), Object::ALL.len());
    assert_eq!(backgrounds.len(), Background::ALL.len());
    assert!(colours.len() >= 8);
    assert!(captions.len() > 1000, "few distinct captions: {}", captions.len());
    // Canonical captions parse too.
    for o in Object::ALL {
        for m in Motion::ALL {
            let to = (m == Motion::Fade).then_some(Colour::Yellow);
            let a = shapes::Attributes { object: o, colour: Colour::Red, motion: m, colour_to: to, background: Background::Blue };
            assert_eq!(shapes::parse_prompt(&a.canonical_caption()).unwrap(), a, "{}", a.canonical_caption());
        }
    }
}

#[test]
fn paraphrases_of_one_combination_render_the_same_clip() {
    let shape = VideoShape::new(8, 32, 32);
    let a = shapes::render_prompt("a red ball moving left to right", shape).unwrap().1;
    let b = shapes::render_prompt("A red circle sliding to the right on a dark background.", shape).unwrap().1;
    assert_eq!(a, b);
    let c = shapes::render_prompt("a triangle appearing", shape).unwrap().1;
    let d = shapes::render_prompt("a white triangle fading in in the middle of a black background", shape).unwrap().1;
    assert_eq!(c, d);
}

// Measurements on rendered clips: the motions read the way the captions say.

fn plane(video: &[f32], shape: VideoShape, c: usize, f: usize) -> &[f32] {
    let p = shape.height * shape.width;
    let start = c * shape.frames * p + f * p;
    &video[start..start + p]
}

/// Object mask weight per pixel: distance of the pixel from the background colour.
fn weights(video: &[f32], shape: VideoShape, f: usize, bg: Background) -> Vec<f64> {
    let bgv = bg.rgb().map(|v| v / 127.5 - 1.0);
    let planes: Vec<&[f32]> = (0..3).map(|c| plane(video, shape, c, f)).collect();
    (0..shape.height * shape.width).map(|i| (0..3).map(|c| (planes[c][i] as f64 - bgv[c]).abs()).sum::<f64>()).collect()
}

/// (mass, centroid x, centroid y, principal-axis angle in y-down coordinates).
fn moments(video: &[f32], shape: VideoShape, f: usize, bg: Background) -> (f64, f64, f64, f64) {
    let w = weights(video, shape, f, bg);
    let (mut m, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (i, v) in w.iter().enumerate() {
        let (x, y) = ((i % shape.width) as f64, (i / shape.width) as f64);
        m += v;
        sx += v * x;
        sy += v * y;
    }
    if m == 0.0 {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let (cx, cy) = (sx / m, sy / m);
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for (i, v) in w.iter().enumerate() {
        let (x, y) = ((i % shape.width) as f64 - cx, (i / shape.width) as f64 - cy);
        xx += v * x * x;
        yy += v * y * y;
        xy += v * x * y;
    }
    (m, cx, cy, 0.5 * (2.0 * xy).atan2(xx - yy))
}

#[test]
fn motions_read_as_captioned() {
    let shape = VideoShape::new(8, 32, 32);
    let bg = Background::Dark;
    let track = |prompt: &str| {
        let v = shapes::render_prompt(prompt, shape).unwrap().1;
        let m: Vec<_> = (0..shape.frames).map(|f| moments(&v, shape, f, bg)).collect();
        (v, m)
    };
    let increasing = |xs: &[f64]| xs.windows(2).all(|w| w[1] > w[0] + 0.1);

    let (_, m) = track("a red ball moving left to right");
    assert!(increasing(&m.iter().map(|m| m.1).collect::<Vec<_>>()), "x: {m:?}");
    let (_, m) = track("a red ball moving right to left");
    assert!(increasing(&m.iter().map(|m| -m.1).collect::<Vec<_>>()));
    let (_, m) = track("a red ball moving down");
    assert!(increasing(&m.iter().map(|m| m.2).collect::<Vec<_>>()));
    let (_, m) = track("a red ball moving up");
    assert!(increasing(&m.iter().map(|m| -m.2).collect::<Vec<_>>()));

    // Up and down: y decreases (image y points down) to the middle of the clip, then returns.
    let (_, m) = track("a white bar moving up and down");
    let ys: Vec<f64> = m.iter().map(|m| m.2).collect();
    assert!(increasing(&ys[..4].iter().map(|y| -y).collect::<Vec<_>>()), "{ys:?}");
    assert!(increasing(&ys[4..]), "{ys:?}");
    assert!((ys[0] - ys[7]).abs() < 0.2);

    // Clockwise on screen = increasing angle in y-down coordinates; a bar shows it best.
    // (The last frame is at 90 degrees, where the axis angle wraps; compare the others.)
    let (_, m) = track("a white bar rotating clockwise");
    let angles: Vec<f64> = m[..7].iter().map(|m| m.3).collect();
    assert!(increasing(&angles), "{angles:?}");
    let (_, m) = track("a white bar rotating counter-clockwise");
    assert!(increasing(&m[..7].iter().map(|m| -m.3).collect::<Vec<_>>()));
    // The paper's square: frame-to-frame turn is visible (the pixels change, mass is constant).
    let (v, m) = track("a blue square rotating clockwise");
    assert!(m.windows(2).all(|w| (w[1].0 - w[0].0).abs() / w[0].0 < 0.1));
    assert_ne!(plane(&v, shape, 2, 0), plane(&v, shape, 2, 3));

    // Fading from green to yellow: the object's red channel rises, green stays high.
    let v = shapes::render_prompt("a circle fading from green to yellow", shape).unwrap().1;
    let centre = 16 * 32 + 16;
    let r0 = plane(&v, shape, 0, 0)[centre] as f64;
    let r7 = plane(&v, shape, 0, 7)[centre] as f64;
    assert!((r0 - (Colour::Green.rgb()[0] / 127.5 - 1.0)).abs() < 1e-4);
    assert!((r7 - (Colour::Yellow.rgb()[0] / 127.5 - 1.0)).abs() < 1e-4);

    // Appearing in the center: nothing in the first frame, full object centred at the end.
    let (_, m) = track("a triangle appearing in the center of a dark background");
    assert!(m[0].0 < 1e-3, "first frame not empty: {:?}", m[0]);
    assert!(m.windows(2).all(|w| w[1].0 >= w[0].0));
    assert!((m[7].1 - 15.5).abs() < 1.0 && (m[7].2 - 15.5).abs() < 1.5, "{:?}", m[7]);

    // Growing / shrinking change mass monotonically; static does not change at all.
    let (_, m) = track("a green square growing");
    assert!(increasing(&m.iter().map(|m| m.0).collect::<Vec<_>>()));
    let (_, m) = track("a green square shrinking");
    assert!(increasing(&m.iter().map(|m| -m.0).collect::<Vec<_>>()));
    let (v, _) = track("a green square");
    assert_eq!(plane(&v, shape, 1, 0), plane(&v, shape, 1, 7));
}

// ------------------------------------------------------------------------------------------
// splits

#[test]
fn random_split_sizes_follow_the_rounding() {
    for (n, frac, eval) in [(50u64, 0.1, 5usize), (7, 0.25, 2), (10, 0.0, 0), (3, 0.5, 2)] {
        let d = load(&DataSpec { eval_fraction: frac, ..shapes_spec(n) });
        assert_eq!(d.eval.len(), eval, "n={n} frac={frac}");
        assert_eq!(d.train.len(), n as usize - eval);
        let mut all: Vec<usize> = d.train.source_indices().to_vec();
        all.extend(d.eval.source_indices());
        all.sort();
        assert_eq!(all, (0..n as usize).collect::<Vec<_>>());
    }
    // Seeded: the same seed picks the same eval samples, another seed others.
    let a = load(&shapes_spec(50)).eval.source_indices().to_vec();
    assert_eq!(a, load(&shapes_spec(50)).eval.source_indices());
    assert_ne!(a, load(&DataSpec { seed: 7, ..shapes_spec(50) }).eval.source_indices());
}

#[test]
fn heldout_combinations_never_appear_in_training() {
    let spec = DataSpec { split: SplitKind::Heldout, frames: 2, height: 8, width: 8, ..shapes_spec(600) };
    let d = load(&spec);
    assert_eq!(d.eval.len(), 60);
    assert_eq!(d.train.len(), 540);
    let pairs = |ds: &Dataset| -> BTreeSet<(Object, Motion)> {
        (0..ds.len()).map(|i| ds.get(i).attributes.unwrap()).map(|a| (a.object, a.motion)).collect()
    };
    let combos =
        |ds: &Dataset| -> BTreeSet<shapes::Attributes> { (0..ds.len()).map(|i| ds.get(i).attributes.unwrap()).collect() };
    let (train, eval) = (pairs(&d.train), pairs(&d.eval));
    assert!(!eval.is_empty());
    assert!(train.is_disjoint(&eval), "shared pairs: {:?}", train.intersection(&eval).collect::<Vec<_>>());
    assert!(combos(&d.train).is_disjoint(&combos(&d.eval)));
    // The held-out set is exactly the one the split declares, and it is compositional: every
    // object and every motion of the eval set is seen in training with other partners.
    assert_eq!(eval, shapes::heldout_pairs(0, 0.1));
    for (o, m) in &eval {
        assert!(train.iter().any(|p| p.0 == *o), "{o:?} never trained");
        assert!(train.iter().any(|p| p.1 == *m), "{m:?} never trained");
    }
}

// ------------------------------------------------------------------------------------------
// batches

#[test]
fn loader_batches_are_ordered_bounded_and_reproducible() {
    let d = load(&shapes_spec(50));
    let loader = Loader::new(d.train.clone(), 8).shuffle(3).prefetch(2);
    assert_eq!(loader.num_batches(), 6);
    let batches: Vec<_> = loader.epoch(0).collect();
    assert_eq!(batches.len(), 6);
    assert_eq!(batches[5].len(), 45 - 40);
    let again: Vec<_> = loader.epoch(0).collect();
    assert_eq!(batches[0].captions, again[0].captions);
    assert_ne!(loader.order(0), loader.order(1));
    let mut seen: Vec<String> = batches.iter().flat_map(|b| b.ids.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 45);
    let device = ttv::backend::cpu();
    let b = batches[0].clone().to_device(&device);
    assert_eq!(b.videos.dims(), [8, 3, 8, 32, 32]);
    assert_eq!(b.captions.len(), 8);
    assert!(b.attributes.iter().all(Option::is_some));
    // Abandoning an epoch early does not hang.
    let mut e = Loader::new(d.train, 4).drop_last(true).epoch(1);
    assert_eq!(e.next().unwrap().len(), 4);
    drop(e);
}

// ------------------------------------------------------------------------------------------
// real clips (need the ffmpeg program)

fn ffmpeg() -> PathBuf {
    match ttv::data::ffmpeg::Ffmpeg::locate(None) {
        Ok(f) => f.program,
        Err(e) => panic!("these tests need ffmpeg on PATH (apt-get install -y ffmpeg): {e}"),
    }
}

fn make_clip(dir: &Path, name: &str, seconds: f64, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let src = format!("testsrc2=size=96x64:rate=10:duration={seconds}");
    let mut args = vec!["-f", "lavfi", "-i", &src];
    args.extend_from_slice(extra);
    let p = path.to_string_lossy().into_owned();
    args.push(&p);
    ttv::data::ffmpeg::run(&ffmpeg(), &args).unwrap();
    path
}

fn truncate(src: &Path, dst: &Path) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..bytes.len() / 2]).unwrap();
}

fn folder_spec(manifest: &Path) -> DataSpec {
    DataSpec {
        kind: DataKind::Folder,
        samples: 100,
        eval_fraction: 0.25,
        source: Some(manifest.to_string_lossy().into_owned()),
        ..DataSpec::default()
    }
}

/// Good: mp4, GIF, image folder, a windowed mp4. Bad: truncated, too short, missing, no caption.
fn real_clips(dir: &Path) -> PathBuf {
    let yuv = ["-pix_fmt", "yuv420p"];
    make_clip(dir, "a.mp4", 2.0, &yuv);
    make_clip(dir, "b.gif", 1.5, &[]);
    let faststart = make_clip(dir, "c.mp4", 2.0, &["-pix_fmt", "yuv420p", "-movflags", "+faststart"]);
    truncate(&faststart, &dir.join("truncated.mp4"));
    make_clip(dir, "short.mp4", 0.3, &yuv);
    std::fs::create_dir(dir.join("frames")).unwrap();
    make_clip(dir, "frames/img_%03d.png", 1.0, &[]);
    std::fs::write(
        dir.join("manifest.csv"),
        "path,caption,start_s,end_s\n\
         a.mp4,\"a test pattern, moving\",,\n\
         truncated.mp4,a broken clip,,\n\
         b.gif,an animated gif,,\n\
         missing.mp4,a clip that is not there,,\n\
         short.mp4,a clip with three frames,,\n\
         frames,a folder of images,,\n\
         c.mp4,,,\n\
         c.mp4,the second half,1.0,2.0\n",
    )
    .unwrap();
    dir.join("manifest.csv")
}

#[test]
fn folder_loads_good_clips_and_skips_bad_ones() {
    let tmp = Workspace::new();
    let manifest = real_clips(tmp.path());
    let cache = tmp.path().join("cache");
    let opts = LoadOptions { cache_dir: Some(cache.clone()), base_dir: None };
    let d = data::load(&folder_spec(&manifest), &opts).unwrap();
    assert_eq!(d.train.len() + d.eval.len(), 4);
    assert_eq!(d.eval.len(), 1);
    assert_eq!(d.skipped(), 4, "{:?}", d.skips);
    let reasons: Vec<String> = d.skips.items.iter().map(|s| s.to_string()).collect();
    let has = |file: &str, why: &str| reasons.iter().any(|r| r.contains(file) && r.contains(why));
    assert!(has("truncated.mp4", "truncated or corrupt"), "{reasons:?}");
    assert!(has("missing.mp4", "missing file"), "{reasons:?}");
    assert!(has("short.mp4", "only 3 frames, 8 needed"), "{reasons:?}");
    assert!(has("c.mp4", "empty caption"), "{reasons:?}");

    let all: Vec<_> = d.train.take(10).into_iter().chain(d.eval.take(10)).collect();
    let captions: BTreeSet<&str> = all.iter().map(|s| s.caption.as_str()).collect();
    assert_eq!(captions, BTreeSet::from(["a test pattern, moving", "an animated gif", "a folder of images", "the second half"]));
    for s in &all {
        assert_eq!(s.video.len(), 3 * 8 * 32 * 32);
        assert!(s.video.iter().all(|v| (-1.0..=1.0).contains(v)));
        // A real picture, never a zero substitute: values vary, and frames differ over time.
        let first = &s.video[..32 * 32];
        let last = &s.video[7 * 32 * 32..8 * 32 * 32];
        assert!(first.iter().any(|v| (v - first[0]).abs() > 0.1), "{} is flat", s.id);
        assert_ne!(first, last, "{}: first and last frame identical", s.id);
    }

    // The cache holds the 4 clips; a second load reads them back identically.
    let entries = walk(&cache).into_iter().filter(|p| p.extension().is_some_and(|e| e == "clip")).count();
    assert_eq!(entries, 4);
    let again = data::load(&folder_spec(&manifest), &opts).unwrap();
    assert_eq!(data::fingerprint(&again.train.take(10)), data::fingerprint(&d.train.take(10)));

    // `samples` caps the usable clips taken from the top of the manifest.
    let first_two = data::load(&DataSpec { samples: 2, ..folder_spec(&manifest) }, &opts).unwrap();
    assert_eq!(first_two.train.len() + first_two.eval.len(), 2);
    assert_eq!(first_two.skipped(), 1); // only truncated.mp4 lies before the second good clip
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn folder_jsonl_and_nothing_usable() {
    let tmp = Workspace::new();
    let dir = tmp.path();
    make_clip(dir, "a.mp4", 1.0, &["-pix_fmt", "yuv420p"]);
    let jsonl =
        tmp.write("m.jsonl", "{\"path\": \"a.mp4\", \"caption\": \"one\"}\n{\"path\": \"gone.mp4\", \"caption\": \"two\"}\n");
    let d = data::load(&DataSpec { eval_fraction: 0.0, ..folder_spec(&jsonl) }, &LoadOptions::default()).unwrap();
    assert_eq!(d.train.len(), 1);
    assert_eq!(d.train.get(0).caption, "one");
    assert_eq!(d.skipped(), 1);

    let bad = tmp.write("bad.csv", "path,caption\ngone.mp4,x\na.mp4,\n");
    let err = data::load(&folder_spec(&bad), &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("no usable samples") && err.contains("gone.mp4") && err.contains("empty caption"), "{err}");

    // Heldout needs ground truth.
    let spec = DataSpec { split: SplitKind::Heldout, ..folder_spec(&jsonl) };
    let err = data::load(&spec, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("heldout"), "{err}");
}

// ------------------------------------------------------------------------------------------
// FineVideo: a shard of the hub's schema, made here

fn write_shard(path: &Path, videos: &[Vec<u8>], descriptions: &[&str], as_struct: bool) {
    use polars::prelude::*;
    let n = videos.len();
    let mp4 = Series::new("mp4".into(), videos.iter().map(|v| v.as_slice()).collect::<Vec<&[u8]>>());
    let json = if as_struct {
        let desc = Series::new("description".into(), descriptions.to_vec());
        let title = Series::new("title".into(), vec!["t"; n]);
        let meta = StructChunked::from_series("content_metadata".into(), n, [desc, title].iter()).unwrap().into_series();
        let id = Series::new("youtube_id".into(), vec!["x"; n]);
        StructChunked::from_series("json".into(), n, [meta, id].iter()).unwrap().into_series()
    } else {
        let docs: Vec<String> = descriptions
            .iter()
            .map(|d| serde_json::json!({"content_metadata": {"description": d, "title": "t"}}).to_string())
            .collect();
        Series::new("json".into(), docs)
    };
    let mut df = DataFrame::new(n, vec![mp4.into(), json.into()]).unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn finevideo_reads_local_shards() {
    let tmp = Workspace::new();
    let dir = tmp.path();
    let yuv = ["-pix_fmt", "yuv420p"];
    let good: Vec<Vec<u8>> =
        (0..3).map(|i| std::fs::read(make_clip(dir, &format!("v{i}.mp4"), 1.0 + i as f64 * 0.5, &yuv)).unwrap()).collect();
    let broken = good[0][..good[0].len() / 3].to_vec();
    let shards = dir.join("shards");
    std::fs::create_dir_all(shards.join("data")).unwrap();
    write_shard(
        &shards.join("data/train-00000.parquet"),
        &[good[0].clone(), broken, good[1].clone()],
        &["first clip", "broken clip", "second clip"],
        true,
    );
    write_shard(&shards.join("data/train-00001.parquet"), &[good[2].clone(), good[0].clone()], &["third clip", ""], false);

    let spec = |samples| DataSpec {
        kind: DataKind::Finevideo,
        samples,
        eval_fraction: 0.0,
        source: Some(shards.to_string_lossy().into_owned()),
        ..DataSpec::default()
    };
    let d = data::load(&spec(100), &LoadOptions::default()).unwrap();
    let caps: Vec<String> = d.train.take(10).into_iter().map(|s| s.caption).collect();
    assert_eq!(caps, ["first clip", "second clip", "third clip"]);
    assert_eq!(d.skipped(), 2, "{:?}", d.skips);
    assert!(d.skips.items[0].file.ends_with("train-00000.parquet#1"));
    assert!(d.skips.items[1].reason.contains("empty caption"));

    // First N: stops reading once N usable rows are found.
    let d = data::load(&spec(1), &LoadOptions::default()).unwrap();
    assert_eq!(d.train.len(), 1);
    assert_eq!(d.skipped(), 0);

    // A hub id that is not a local folder explains how to get the shards.
    let mut s = spec(1);
    s.source = Some("HuggingFaceFV/finevideo".into());
    let err = data::load(&s, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("HF_TOKEN") && err.contains("data.source"), "{err}");
}

// ------------------------------------------------------------------------------------------
// preview

#[test]
fn preview_writes_a_gif_grid_and_captions() {
    let tmp = Workspace::new();
    let d = load(&shapes_spec(50));
    let out = tmp.path().join("grid.gif");
    let p = data::write_preview(&d.train, 16, &out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    assert_eq!(p.captions.len(), 16);
    assert_eq!(p.captions[0], d.train.get(0).caption);
    assert_eq!(p.fingerprint, d.train.fingerprint(16));
    assert!(std::fs::read_to_string(&p.captions_file).unwrap().contains(&p.captions[15]));
}

#[allow(dead_code)]
fn _source_is_object_safe(_: Arc<dyn Source>) {}
