//! Embeds the reviewed knowledge base: every regular file in `kb/` (entries, README, the
//! learned weights, whatever the engine loads) goes into the binary with its name, plus a
//! hash of them all, so the binary works from any directory and knows its KB version.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: `env!` would freeze the directory the build script was first compiled
    // in, so a copied build cache would embed another checkout's KB.
    let manifest =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("kb");
    // A directory: Cargo re-runs this script when any file in it is added, removed or changed.
    println!("cargo:rerun-if-changed={}", dir.display());
    // The files of `kb/` and of its sub-directories one level down (`model/`, `lint/`), named
    // relative to `kb/` with `/`, as `KbFiles::read_dir` names them.
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    for e in read_dir(&dir) {
        let Some(name) = e.file_name().into_string().ok().filter(|n| !n.starts_with('.')) else {
            continue;
        };
        let Ok(kind) = std::fs::metadata(e.path()) else {
            continue;
        };
        if kind.is_file() {
            files.push((name, e.path()));
        } else if kind.is_dir() {
            println!("cargo:rerun-if-changed={}", e.path().display());
            for f in read_dir(&e.path()) {
                if let Some(sub) = f.file_name().into_string().ok().filter(|n| !n.starts_with('.'))
                    && std::fs::metadata(f.path()).is_ok_and(|m| m.is_file())
                {
                    files.push((format!("{name}/{sub}"), f.path()));
                }
            }
        }
    }
    files.sort();
    // An entry is a `*.toml` with a top-level `id = ...` (other TOML files, such as learned
    // weights, are not entries).
    let entries = files
        .iter()
        .filter(|(n, _)| n.ends_with(".toml") && !n.contains('/'))
        .filter(|(_, p)| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines().take_while(|l| !l.trim_start().starts_with('[')).any(|l| {
                    l.trim_start()
                        .strip_prefix("id")
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
            })
        })
        .count();
    let mut hash = Fnv::new();
    let mut code = String::from("/// Every file of `kb/` at build time: (file name, contents), sorted by name.\n");
    code.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        hash.file(name, &bytes);
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// Hash of the files above, as `qntcbot::kb::source::KbFiles::hash` computes it.\npub const HASH: &str = {:?};",
        hash.hex()
    );
    // `qntcbot --version`: the program's version and the built-in KB's (hash and entries).
    println!(
        "cargo:rustc-env=QNTCBOT_VERSION={} (built-in KB {}, {entries} entries)",
        env!("CARGO_PKG_VERSION"),
        &hash.hex()[..12]
    );
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    let out = Path::new(&out_dir).join("embedded_kb.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));

    // The code that turns KB files into a compiled KB: a snapshot made by other code is not
    // reused (see src/kb/snapshot.rs).
    let src = manifest.join("src/kb");
    println!("cargo:rerun-if-changed={}", src.display());
    let mut sources: Vec<std::path::PathBuf> = std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    // The indexes and the gate's parsed cues the snapshot keeps are built here too; and Cargo.lock, because the
    // snapshot's lookup tables hash their keys with a dependency's hasher (`kb::flat`) and
    // its body is postcard: a dependency update must not read tables hashed the old way.
    for f in [
        "src/rank/sim.rs",
        "src/rank/lexicon.rs",
        "src/rank/gate.rs",
        "Cargo.lock",
    ] {
        let p = manifest.join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        // A source tree without a lock file (none is generated yet) hashes the sources only.
        if p.exists() {
            sources.push(p);
        }
    }
    sources.sort();
    let mut h = Fnv::new();
    h.bytes(env!("CARGO_PKG_VERSION").as_bytes());
    for p in &sources {
        let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
        h.file(
            &p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            &bytes,
        );
    }
    let out = Path::new(&out_dir).join("kb_code_hash.rs");
    let code = format!(
        "/// Hash of src/kb/*.rs, src/rank/sim.rs, src/rank/lexicon.rs, src/rank/gate.rs and Cargo.lock at build time.\npub const HASH: &str = {:?};\n",
        h.hex()
    );
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

fn read_dir(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .collect()
}

/// FNV-1a, 128 bits: the same function as `src/kb/source.rs` (kept in step by a unit test
/// there that hashes the embedded files again).
struct Fnv(u128);

impl Fnv {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Fnv {
        Fnv(Self::OFFSET)
    }

    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ u128::from(x)).wrapping_mul(Self::PRIME);
        }
    }

    fn file(&mut self, name: &str, bytes: &[u8]) {
        self.bytes(&(name.len() as u64).to_le_bytes());
        self.bytes(name.as_bytes());
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}
