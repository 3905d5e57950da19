//! Evidence the engine computes rather than matches: the lengths of the server, share and path
//! in every /QNTC path or `\\server\share\...` UNC path of the text, to hold against the limits
//! QNTC documents (15-character NetBIOS names, 12-character share names, 255-character paths,
//! about 130 levels). KB conditions such as `share_length > 12` read these.

use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::{Evidence, FactKind};

/// The longest of each measure over all paths in the text; 0 when there is none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    pub server_length: u32,
    pub share_length: u32,
    pub path_length: u32,
    pub path_levels: u32,
}

/// `\\server\share\dir...` as pasted from Windows; the path stops at white space or a quote.
static UNC: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, covered by the tests below.
    Regex::new(r#"\\\\[A-Za-z0-9._$-]{1,64}(?:\\[^\\\s'"<>|]+)+"#).unwrap_or_else(|e| panic!("UNC regex: {e}"))
});

impl Measures {
    pub fn of(ev: &Evidence, text: &str) -> Measures {
        let mut m = Measures::default();
        for f in ev.of(FactKind::QntcPath) {
            // "/QNTC/server/share/dir/file": parts[0] is QNTC itself.
            let parts: Vec<&str> = f.value.split('/').filter(|p| !p.is_empty()).collect();
            m.take(&parts[1.min(parts.len())..], f.value.chars().count());
        }
        for u in UNC.find_iter(text) {
            let parts: Vec<&str> = u.as_str().split('\\').filter(|p| !p.is_empty()).collect();
            // The same object seen from IBM i: /QNTC + the UNC path with slashes.
            m.take(&parts, u.as_str().chars().count() + "/QNTC".len() - 1);
        }
        m
    }

    fn take(&mut self, parts: &[&str], path_chars: usize) {
        let len = |i: usize| parts.get(i).map_or(0, |p| p.chars().count() as u32);
        self.server_length = self.server_length.max(len(0));
        self.share_length = self.share_length.max(len(1));
        self.path_length = self.path_length.max(u32::try_from(path_chars).unwrap_or(u32::MAX));
        self.path_levels = self.path_levels.max(u32::try_from(parts.len() + 1).unwrap_or(u32::MAX));
    }

    pub fn get(&self, what: Measure) -> u32 {
        match what {
            Measure::ServerLength => self.server_length,
            Measure::ShareLength => self.share_length,
            Measure::PathLength => self.path_length,
            Measure::PathLevels => self.path_levels,
        }
    }
}

pub use crate::kb::condition::Measure;

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(text: &str) -> Measures {
        Measures::of(&crate::evidence::extract(text), text)
    }

    #[test]
    fn qntc_and_unc_paths() {
        let m = measure("CPFA0A9 on /QNTC/FILESRV01/ACCOUNTING_EXPORTS/2024/x.csv");
        assert_eq!((m.server_length, m.share_length, m.path_levels), (9, 18, 5));
        let m = measure(r"copy to \\nas02.corp.local\very_long_share_name\a\b fails");
        assert_eq!((m.server_length, m.share_length), (16, 20));
        assert_eq!(measure("no paths here"), Measures::default());
    }

    #[test]
    fn long_paths_are_measured_whole() {
        let deep = format!("/QNTC/SRV/SHARE/{}", "folder/".repeat(40));
        let m = measure(&format!("copy fails: {deep}file.txt"));
        assert!(m.path_length > 255, "{m:?}");
        assert!(m.path_levels > 40);
    }
}
