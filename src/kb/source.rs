//! Where the knowledge base comes from: the reviewed `kb/` embedded in the binary at build time
//! (the default, so the binary works from any directory), or a directory named with `--kb` /
//! `QNTCBOT_KB`. Either way the KB is "the files of one directory": entries, README, learned
//! weights, whatever the engine loads. Their hash is the KB's version and the key of the
//! compiled snapshot (see [`super::snapshot`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_kb.rs"));
}

/// Beyond this a file in the KB directory is not part of a knowledge base (a stray dump).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Beyond this many files the directory is not a knowledge base.
const MAX_FILES: usize = 10_000;

/// Which knowledge base to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbSource {
    /// The `kb/` the binary was built with.
    Embedded,
    Dir(PathBuf),
}

impl KbSource {
    /// An explicit directory, else the embedded KB.
    pub fn from_option(dir: Option<PathBuf>) -> KbSource {
        dir.map_or(KbSource::Embedded, KbSource::Dir)
    }

    /// Reads every file of the source (cheap for the embedded KB: nothing is copied).
    pub fn files(&self) -> std::io::Result<KbFiles> {
        match self {
            KbSource::Embedded => Ok(KbFiles::embedded()),
            KbSource::Dir(d) => KbFiles::read_dir(d),
        }
    }
}

impl std::fmt::Display for KbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KbSource::Embedded => write!(f, "the built-in knowledge base"),
            KbSource::Dir(d) => write!(f, "{}", d.display()),
        }
    }
}

/// One file of the KB directory.
#[derive(Debug, Clone)]
pub struct KbFile {
    pub name: String,
    pub bytes: Cow<'static, [u8]>,
}

/// The files of a KB directory, sorted by name, and their hash.
#[derive(Debug, Clone)]
pub struct KbFiles {
    pub source: KbSource,
    /// The directory the names are relative to, for messages and `Entry::file`: the given
    /// directory, or `kb` for the embedded KB.
    pub dir: PathBuf,
    pub files: Vec<KbFile>,
    /// Names that are not regular files, with why they were not read.
    pub refused: Vec<(String, String)>,
    hash: String,
}

impl KbFiles {
    pub fn embedded() -> KbFiles {
        KbFiles {
            source: KbSource::Embedded,
            dir: PathBuf::from("kb"),
            files: embedded::FILES
                .iter()
                .map(|(name, bytes)| KbFile {
                    name: (*name).to_string(),
                    bytes: Cow::Borrowed(*bytes),
                })
                .collect(),
            refused: Vec::new(),
            hash: embedded::HASH.to_string(),
        }
    }

    /// Reads the regular files in `dir` and in its sub-directories one level down (`model/`,
    /// `lint/`), named relative to `dir` with `/`. Dot-files are skipped. Something that is
    /// not a regular file (a FIFO, a device, a link to one) is not read, since it could block
    /// or never end, and is listed in [`KbFiles::refused`] for the loader to report.
    pub fn read_dir(dir: &Path) -> std::io::Result<KbFiles> {
        let mut files = Vec::new();
        let mut refused = Vec::new();
        read_level(dir, "", 1, &mut files, &mut refused)?;
        files.sort_by(|a, b| a.name.cmp(&b.name));
        refused.sort();
        let hash = hash_files(&files, &refused);
        Ok(KbFiles {
            source: KbSource::Dir(dir.to_path_buf()),
            dir: dir.to_path_buf(),
            files,
            refused,
            hash,
        })
    }

    /// The KB's version: a hash of every file's name and contents (128-bit FNV-1a, hex).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// A file by name, e.g. `model.toml`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.iter().find(|f| f.name == name).map(|f| f.bytes.as_ref())
    }

    /// The path a file is reported under.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The embedded KB's hash, computed at build time.
pub fn embedded_hash() -> &'static str {
    embedded::HASH
}

fn read_level(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Vec<KbFile>,
    refused: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    use std::io::Read as _;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let rel = format!("{prefix}{name}");
        // Follows a symlink: what matters is what would be read.
        let Ok(meta) = std::fs::metadata(&path) else {
            refused.push((rel, "cannot be read (a dangling link?)".into()));
            continue;
        };
        if meta.is_dir() {
            if depth > 0 {
                read_level(&path, &format!("{rel}/"), depth - 1, files, refused)?;
            }
            continue;
        }
        if !meta.is_file() {
            refused.push((
                rel,
                "not a regular file (a FIFO, device, socket or a link to one); KB files must be files".into(),
            ));
            continue;
        }
        if files.len() >= MAX_FILES {
            return Err(std::io::Error::other(format!(
                "more than {MAX_FILES} files: not a knowledge-base directory"
            )));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(std::io::Error::other(format!(
                "{} is {} bytes; a knowledge-base file may be at most {MAX_FILE_BYTES}",
                path.display(),
                meta.len()
            )));
        }
        // Reads at most the limit even if the file grows after the check.
        let mut bytes = Vec::new();
        std::fs::File::open(&path)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)?;
        files.push(KbFile {
            name: rel,
            bytes: Cow::Owned(bytes),
        });
    }
    Ok(())
}

/// Must agree with `build.rs`, which hashes the embedded files the same way (it has no
/// refused files).
fn hash_files(files: &[KbFile], refused: &[(String, String)]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    let mut eat = |b: &[u8]| {
        crate::work::add(b.len());
        for &x in b {
            h = (h ^ u128::from(x)).wrapping_mul(PRIME);
        }
    };
    for f in files {
        eat(&(f.name.len() as u64).to_le_bytes());
        eat(f.name.as_bytes());
        eat(&(f.bytes.len() as u64).to_le_bytes());
        eat(&f.bytes);
    }
    // A refused file keeps a snapshot of the same files without it from being used: the
    // load must fail and name it.
    for (name, _) in refused {
        eat(b"refused");
        eat(name.as_bytes());
    }
    format!("{h:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_hash_matches_the_runtime_hash() {
        let e = KbFiles::embedded();
        assert!(e.files.iter().any(|f| f.name.ends_with(".toml")));
        assert_eq!(hash_files(&e.files, &[]), e.hash());
    }

    #[test]
    fn embedded_kb_is_the_source_kb_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("kb");
        let d = KbFiles::read_dir(&dir).unwrap();
        assert_eq!(d.hash(), embedded_hash(), "rebuild after editing kb/");
    }

    #[test]
    fn any_change_changes_the_hash() {
        let dir = tempfile_dir();
        std::fs::write(dir.join("a.toml"), "x = 1").unwrap();
        let h1 = KbFiles::read_dir(&dir).unwrap().hash().to_string();
        std::fs::write(dir.join("a.toml"), "x = 2").unwrap();
        let h2 = KbFiles::read_dir(&dir).unwrap().hash().to_string();
        std::fs::write(dir.join("model.json"), "{}").unwrap();
        let h3 = KbFiles::read_dir(&dir).unwrap().hash().to_string();
        assert!(h1 != h2 && h2 != h3 && h1 != h3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "qntcbot-source-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
