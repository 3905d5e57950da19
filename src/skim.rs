//! Large inputs (megabytes of job log) are skimmed, not read line by line: one pass over the
//! text finds the lines worth reading, and only the message blocks around them get the full
//! job-log parse, evidence extraction and ranking. The input is read and normalised in chunks,
//! so memory holds one chunk and the selected lines, never the whole file.
//!
//! A line is worth reading when it holds a message id the knowledge base or the QNTC triage
//! cares about, a phrase or pattern literal of the knowledge base, or one of the cues evidence
//! extraction looks for (QNTC, error codes, NT status names, commands, paths under /QNTC ...);
//! the first job header and page header are kept for the job's name, type and release. Every
//! message id in the input still becomes a fact (the evidence key lists them all), from the
//! same pass. What a skim does not read: bare numbers or dotted releases on lines that hold
//! nothing else of interest, and the words of lines nobody would quote.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::input::{self, InputError};
use crate::kb::Kb;

/// A message id's seven ASCII bytes.
type Id = [u8; 7];

/// Inputs at least this large are skimmed; smaller ones are read whole, every line.
pub const SKIM_FROM_BYTES: usize = 2 * 1024 * 1024;
/// Bytes read and normalised at a time. Small, so that the buffers stay in cache and few
/// pages are faulted in: a 4 MB chunk cost a 10 MB job log a third more time, most of it in
/// the kernel.
const CHUNK: usize = 256 * 1024;
/// A line is cut into pieces only beyond this length; shorter ones stay whole however they
/// fall across chunks (line numbers and quotes then do not depend on [`CHUNK`]).
const LONG_LINE: usize = 4 * 1024 * 1024;
/// How far back a selected line looks for the start of its message block.
const BACK: usize = 16;
/// How far forward a block may run after its last selected line.
const FORWARD: usize = 48;

/// Literal cues whose lines carry a value (a code, a status name, a path): every line that
/// holds one is read. Lower case; matched ignoring ASCII case.
const VALUE_CUES: &[&str] = &[
    "error code",
    "error class",
    "fehlercode",
    "codice",
    "código",
    "codigo",
    "エラー",
    "return code",
    "reason code",
    "errno",
    "rc=",
    "rc ",
    "status_",
    "cpe",
    "/qntc",
    "qpwd",
    "password level",
    "domain",
    "domäne",
    "dominio",
    "ドメイン",
];
/// Cues that say something once (the text is about QNTC, was after an upgrade, ...): their
/// first [`ONCE`] lines are read. The knowledge base's phrases and pattern anchors join them.
const ONCE_CUES: &[&str] = &[
    "qntc",
    "qnct",
    "qtnc",
    "netclient",
    "qzlc",
    "netserver",
    "eacces",
    "eperm",
    "enoent",
    "password",
    "kennwort",
    "passwort",
    "contraseña",
    "パスワード",
    "upgrad",
    "migrat",
    "release",
    "ipl",
    "rclstg",
    "sbmjob",
    "batch",
    "schedul",
    "submitted",
    "interactiv",
    "smb",
    "cifs",
    "samba",
    "ntlm",
    "kerberos",
    "signing",
    "share",
    "nas",
    "windows",
    "ibm i",
    "as/400",
    "as400",
    "iseries",
    "wrklnk",
    "dsplnk",
    "cpytostmf",
    "cpyfrmstmf",
    "chgatr",
    "chgaut",
    "chgown",
    "crtdir",
    "mkdir",
    "chgnetA",
    "chgsysval",
    "addenvvar",
    "wrkenvvar",
    "qzlsmaint",
    "strtcpsvr",
    "qibm_",
];
/// Lines read per once-cue (and per message id that is not in the KB).
const ONCE: u32 = 4;

/// Message ids worth a full read even when the KB does not list them: the QNTC logon family,
/// IFS errors, and the job-start messages that tell a batch job.
fn always_interesting(id: &str) -> bool {
    id.starts_with("CPDB05") || id.starts_with("CPFA0") || id.starts_with("CPE") || matches!(id, "CPF1124" | "CPI1125")
}

/// The lines worth reading of a large input.
#[derive(Debug, Default)]
pub struct Skimmed {
    /// The selected lines, normalised, each ending in `\n`; separate blocks are separated by
    /// one empty line.
    pub text: String,
    /// For each line of `text`, its 1-based line in the whole normalised input (0 for the
    /// empty separator lines).
    pub lines: Vec<usize>,
    /// Every message-id-shaped token (upper case) with the line it first appears on.
    pub ids: Vec<(String, usize)>,
    /// Lines in the whole normalised input.
    pub total_lines: usize,
    pub lossy: bool,
}

/// What makes a line worth reading, built once per knowledge base.
#[derive(Debug)]
pub struct Skimmer {
    /// `None` only if the automaton cannot be built (it always can: a few hundred literals).
    markers: Option<AhoCorasick>,
    /// The markers, lower case and sorted: the automaton's patterns in order.
    literals: Vec<String>,
    /// Per marker: every line read (true) or the first [`ONCE`].
    every: Vec<bool>,
    /// Whether a marker holds a line end: then a chunk is scanned in one piece.
    multiline: bool,
    /// Ids the KB lists or its conditions name: every line read.
    kb_ids: HashSet<Id, rustc_hash::FxBuildHasher>,
}

impl Skimmer {
    pub fn new(kb: &Kb) -> Skimmer {
        let mut literals: HashMap<String, bool> = HashMap::new();
        for l in ONCE_CUES.iter().copied().chain(kb.literals()) {
            literals.entry(l.to_lowercase()).or_insert(false);
        }
        for l in VALUE_CUES {
            literals.insert(l.to_lowercase(), true);
        }
        let mut literals: Vec<(String, bool)> = literals.into_iter().filter(|(l, _)| l.chars().count() >= 3).collect();
        literals.sort();
        // Overlapping search: a short cue inside a longer one ("share" in "file share") must
        // still be seen.
        // Not a DFA: over a thousand literals make it 6 MB and 20 ms to build, and it scans a
        // job log full of hits no faster than the contiguous NFA chosen by default.
        let markers = marker_automaton(literals.iter().map(|(l, _)| l.as_str())).ok();
        let every = literals.iter().map(|(_, e)| *e).collect();
        let multiline = literals.iter().any(|(l, _)| l.contains('\n'));
        let literals = literals.into_iter().map(|(l, _)| l).collect();
        // An id of another length can never be a seven-byte word of the text.
        let id_of = |s: &String| Id::try_from(s.as_bytes()).ok();
        let mut kb_ids: HashSet<Id, rustc_hash::FxBuildHasher> = HashSet::default();
        for e in &kb.entries {
            kb_ids.extend(e.message_ids.iter().filter_map(id_of));
            for c in &e.conditions {
                if let crate::kb::When::Message { id } = &c.when {
                    kb_ids.extend(id_of(id));
                }
            }
        }
        Skimmer {
            markers,
            literals,
            every,
            multiline,
            kb_ids,
        }
    }

    /// Skims everything `reader` yields (at most [`input::MAX_INPUT_BYTES`]); `progress` is
    /// told how many raw bytes were consumed after each chunk.
    pub fn skim(&self, mut reader: impl Read, mut progress: impl FnMut(u64)) -> Result<Skimmed, SkimError> {
        let mut state = State::default();
        // Room for a chunk and the probe read `read_to_end` makes when its buffer is full, so
        // that the buffer never moves: it is read into directly, once per chunk.
        let mut raw: Vec<u8> = Vec::with_capacity(2 * CHUNK);
        let mut total_raw = 0usize;
        let mut eof = false;
        // How far `raw` was looked at for a line end: a long line is read on without looking
        // at its start again.
        let mut looked = 0usize;
        while !eof {
            // Fill up to one chunk more than is waiting, then cut at the last line end (the
            // rest waits); a line longer than a chunk is read on up to `LONG_LINE`.
            let want = CHUNK.saturating_sub(raw.len().saturating_sub(looked));
            let n = (&mut reader)
                .take(want as u64)
                .read_to_end(&mut raw)
                .map_err(SkimError::Read)?;
            eof = n < want;
            total_raw += n;
            if total_raw > input::MAX_INPUT_BYTES {
                return Err(SkimError::Input(InputError::TooLarge {
                    size: total_raw,
                    limit: input::MAX_INPUT_BYTES,
                }));
            }
            let cut = if eof {
                raw.len()
            } else {
                match memchr::memrchr(b'\n', &raw[looked..]) {
                    Some(i) => looked + i + 1,
                    None if raw.len() < LONG_LINE => {
                        looked = raw.len();
                        continue;
                    }
                    None => raw.len(),
                }
            };
            self.chunk(&raw[..cut], eof, &mut state);
            raw.drain(..cut);
            looked = 0;
            progress(total_raw as u64);
        }
        state.finish()
    }

    /// Skims bytes already in memory.
    pub fn skim_bytes(&self, raw: &[u8]) -> Result<Skimmed, SkimError> {
        if raw.len() > input::MAX_INPUT_BYTES {
            return Err(SkimError::Input(InputError::TooLarge {
                size: raw.len(),
                limit: input::MAX_INPUT_BYTES,
            }));
        }
        let mut state = State::default();
        let mut rest = raw;
        while !rest.is_empty() {
            let cut = if rest.len() <= CHUNK { rest.len() } else { cut_at(rest) };
            let last = cut == rest.len();
            self.chunk(&rest[..cut], last, &mut state);
            rest = &rest[cut..];
        }
        state.finish()
    }

    /// Normalises one chunk of whole lines and selects from it.
    fn chunk(&self, raw: &[u8], last: bool, st: &mut State) {
        crate::work::add(raw.len());
        let plain = is_plain(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                st.lossy = true;
                String::from_utf8_lossy(raw)
            }
        };
        let (control, chars) = if plain {
            // What `control_chars` says of printable ASCII, without looking again.
            (0, text.len())
        } else {
            input::control_chars(&text)
        };
        st.control += control;
        st.chars += chars;
        // Normalised lines of this chunk, each with its start in `norm`.
        // The buffers of the chunk before, reused: fresh megabytes cost a page fault (and on
        // a huge page, zeroing 2 MB) per touch.
        let mut norm = std::mem::take(&mut st.norm);
        let mut starts = std::mem::take(&mut st.starts);
        let mut seed = std::mem::take(&mut st.seed);
        let mut keep = std::mem::take(&mut st.keep);
        norm.clear();
        norm.reserve(text.len());
        starts.clear();
        let body = text.strip_suffix('\n').unwrap_or(&text);
        if !body.is_empty() || !last {
            for line in body.split('\n') {
                starts.push(norm.len());
                push_line(line, plain, &mut norm);
            }
        }
        let n = starts.len();
        if !st.any_content {
            st.any_content = !norm.trim().is_empty();
        }
        let line_end = |k: usize| starts.get(k + 1).map_or(norm.len(), |&s| s) - 1;
        // Hits come nearly in text order: look next to the line of the hit before, and
        // search only when the hit is elsewhere.
        let mut near = 0usize;
        let mut line_at = |off: usize| {
            let within = |k: usize| starts[k] <= off && starts.get(k + 1).is_none_or(|&next| off < next);
            if !within(near) {
                near = if near + 1 < starts.len() && within(near + 1) {
                    near + 1
                } else {
                    starts.partition_point(|&s| s <= off) - 1
                };
            }
            near
        };
        // One pass for ids, one for markers; both map their hits to lines.
        seed.clear();
        seed.resize(n, false);
        for start in id_shaped(norm.as_bytes()) {
            let k = line_at(start);
            // Seven ASCII word bytes (see `id_shaped`), kept as bytes: no string per word.
            let Ok(mut id) = Id::try_from(&norm.as_bytes()[start..start + 7]) else {
                continue;
            };
            id.make_ascii_uppercase();
            let Some(text) = std::str::from_utf8(&id).ok().filter(|t| crate::kb::is_message_id(t)) else {
                continue;
            };
            let interesting = always_interesting(text);
            let no = st.lines_before + k + 1;
            let seen = {
                let e = st.ids.entry(id).or_insert((no, 0));
                e.1 += 1;
                e.1
            };
            if self.kb_ids.contains(&id) || (interesting && seen <= ONCE) {
                seed[k] = true;
            }
        }
        crate::work::add(norm.len() * 2);
        if st.marker_counts.len() != self.every.len() {
            st.marker_counts = vec![0; self.every.len()];
        }
        // The chunk is scanned in slices of whole lines; between slices the automaton may be
        // rebuilt without the markers whose [`ONCE`] lines have been read (see `Live`).
        let mut from = 0;
        while from < n {
            let mut to = from + 1;
            while to < n && (self.multiline || starts[to] - starts[from] < SLICE) {
                to += 1;
            }
            let span = starts[from]..starts.get(to).map_or(norm.len(), |&s| s);
            let scanned = span.len();
            let (ac, ids) = match &st.live {
                Some(live) => (Some(&live.ac), Some(&live.ids)),
                None => (self.markers.as_ref(), None),
            };
            let take = |p: usize, counts: &mut [u32], spent: &mut usize| {
                let count = &mut counts[p];
                let live = self.every[p] || *count < ONCE;
                if live {
                    *count += 1;
                    if !self.every[p] && *count == ONCE {
                        *spent += 1;
                    }
                }
                live
            };
            let pattern = |m: &aho_corasick::Match| {
                ids.map_or(m.pattern().as_usize(), |ids| ids[m.pattern().as_usize()] as usize)
            };
            match ac {
                None => {}
                Some(ac) if self.multiline => {
                    for m in ac.find_overlapping_iter(aho_corasick::Input::new(&norm).span(span)) {
                        let k = line_at(m.start());
                        if !seed[k] && take(pattern(&m), &mut st.marker_counts, &mut st.spent) {
                            seed[k] = true;
                        }
                    }
                }
                Some(ac) => {
                    // Line by line (no marker crosses a line end, so a line's hits are the
                    // same as in the whole text, in the same order): the first hit of a live
                    // marker selects the line and the rest of it is not looked at. A line
                    // that had no live marker never will (markers only ever die), so a line
                    // seen before without one is not scanned again: job logs repeat their
                    // page headers, column lines and message texts.
                    for k in from..to {
                        if seed[k] {
                            continue;
                        }
                        let line = &norm[starts[k]..line_end(k)];
                        if st.clean.contains(line) {
                            continue;
                        }
                        let input = aho_corasick::Input::new(&norm).span(starts[k]..line_end(k));
                        let hit = ac
                            .find_overlapping_iter(input)
                            .any(|m| take(pattern(&m), &mut st.marker_counts, &mut st.spent));
                        if hit {
                            seed[k] = true;
                        } else if st.clean_bytes < CLEAN_BYTES {
                            st.clean_bytes += line.len();
                            st.clean.insert(line.to_string());
                        }
                    }
                }
            }
            st.scanned += scanned;
            if st.scanned >= st.next_check {
                self.refresh(st);
            }
            from = to;
        }
        for (k, s) in seed.iter_mut().enumerate() {
            let line = &norm[starts[k]..line_end(k)];
            if !*s && st.wants_structure(line) {
                *s = true;
            }
        }
        // Blocks: back to the message start, forward to the next one.
        let line = |k: usize| &norm[starts[k]..line_end(k)];
        keep.clear();
        keep.resize(n, false);
        let mut k = 0;
        // A block that ran past the previous chunk's end goes on here.
        while k < n && st.forward > 0 && !is_block_start(line(k)) {
            keep[k] = true;
            st.forward -= 1;
            k += 1;
        }
        st.forward = 0;
        let mut last_kept_end = k;
        while k < n {
            if !seed[k] {
                k += 1;
                continue;
            }
            let mut from = k;
            while from > last_kept_end && k - from < BACK && !is_block_start(line(from)) && from > 0 {
                from -= 1;
            }
            if from > 0 && !is_block_start(line(from)) && from > last_kept_end {
                // No block start nearby: the line itself.
                from = k;
            }
            let mut to = k + 1;
            let mut budget = FORWARD;
            while to < n && budget > 0 && (seed[to] || !is_block_start(line(to))) {
                if seed[to] {
                    budget = FORWARD;
                }
                to += 1;
                budget -= 1;
            }
            if to == n && budget > 0 {
                st.forward = budget;
            }
            for kk in keep.iter_mut().take(to).skip(from) {
                *kk = true;
            }
            last_kept_end = to;
            k = to;
        }
        for (k, &kept) in keep.iter().enumerate() {
            if kept {
                st.emit(line(k), st.lines_before + k + 1);
            }
        }
        st.lines_before += n;
        (st.norm, st.starts, st.seed, st.keep) = (norm, starts, seed, keep);
    }
}

/// Bytes of lines scanned for markers between two looks at whether the automaton is worth
/// rebuilding; the looks then come at doubling distances.
const SLICE: usize = 64 * 1024;

/// Bytes of distinct lines remembered as holding no live marker: enough for the repeated lines
/// of any job log, and a bound on the memory they take.
const CLEAN_BYTES: usize = 1024 * 1024;

/// The marker automaton: overlapping, ignoring ASCII case. Not a DFA: over a thousand
/// literals make it 6 MB and 20 ms to build, and it scans a job log full of hits no faster
/// than the contiguous NFA chosen by default.
fn marker_automaton<'a>(literals: impl IntoIterator<Item = &'a str>) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(literals)
}

/// The markers still worth finding: a once-marker whose [`ONCE`] lines have been read does
/// nothing more, however often it comes, and a job log repeats the same few words on every
/// page (hundreds of thousands of hits in 10 MB). The automaton without them reports the
/// other markers' hits in the same order (by end, then longer first, then marker order,
/// which the renumbering keeps), so the lines selected are the same.
struct Live {
    ac: AhoCorasick,
    /// Live pattern -> marker.
    ids: Vec<u32>,
}

impl Skimmer {
    /// Rebuilds the live automaton if markers were spent since the last build. Looks come at
    /// doubling amounts of text scanned, so a skim builds it at most a few dozen times
    /// whatever the input (and never more often than markers get spent).
    fn refresh(&self, st: &mut State) {
        st.next_check = st.scanned.saturating_mul(2);
        if st.spent == st.spent_at_build {
            return;
        }
        let ids: Vec<u32> = (0..self.literals.len())
            .filter(|&p| self.every[p] || st.marker_counts[p] < ONCE)
            .filter_map(|p| u32::try_from(p).ok())
            .collect();
        crate::work::add(ids.len());
        // A failure to build keeps the automaton before, which finds the same lines.
        if let Ok(ac) = marker_automaton(ids.iter().map(|&p| self.literals[p as usize].as_str())) {
            st.live = Some(Live { ac, ids });
            st.spent_at_build = st.spent;
        }
    }
}

/// Classes of [`BYTE_CLASS`]: an ASCII word byte (`[0-9A-Za-z_]`), a letter, a hex digit.
const WORD: u8 = 1;
const LETTER: u8 = 2;
const HEX: u8 = 4;
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' {
            t[b] |= WORD;
        }
        if c.is_ascii_alphabetic() {
            t[b] |= LETTER;
        }
        if c.is_ascii_hexdigit() {
            t[b] |= HEX;
        }
        b += 1;
    }
    t
};

/// Where the message-id-shaped words of `text` start: words of exactly seven ASCII word bytes,
/// three letters then four hex digits, any case. What `(?i-u)\b[a-z]{3}[0-9a-f]{4}\b` finds
/// (every such match is a whole word of seven bytes). The bytes are classified 64 at a time
/// into a mask (a loop the compiler turns into vector compares), and the words of exactly
/// seven bytes are found in the mask with shifts; only those are looked at byte by byte.
/// Twice as fast as a byte-at-a-time walk on a job log, where a word starts every few bytes.
fn id_shaped(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut base = 0usize;
    let mut cur = word_mask(&text[..text.len().min(64)]);
    // Whether the byte before the block is a word byte.
    let mut before = 0u128;
    let mut starts = 0u64;
    std::iter::from_fn(move || {
        loop {
            while starts != 0 {
                let s = base - 64 + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                let word = &text[s..s + 7];
                if word[..3].iter().all(|&b| BYTE_CLASS[usize::from(b)] & LETTER != 0)
                    && word[3..].iter().all(|&b| BYTE_CLASS[usize::from(b)] & HEX != 0)
                {
                    return Some(s);
                }
            }
            if base >= text.len() {
                return None;
            }
            let next_at = base + 64;
            let next = text
                .get(next_at..)
                .map_or(0, |rest| word_mask(&rest[..rest.len().min(64)]));
            // This block and the next, so that a word may run across the boundary; bytes
            // past the end count as non-word, as the end of the text is a boundary.
            let w = u128::from(cur) | (u128::from(next) << 64);
            let seven = w & (w >> 1) & (w >> 2) & (w >> 3) & (w >> 4) & (w >> 5) & (w >> 6);
            let exact = seven & !(w >> 7) & !((w << 1) | before);
            // Truncation keeps this block's starts; the next block finds its own.
            starts = exact as u64;
            before = u128::from(cur >> 63);
            cur = next;
            base = next_at;
        }
    })
}

/// Bit `j` of the result: whether `block[j]` is an ASCII word byte (`[0-9A-Za-z_]`); at most
/// 64 bytes.
fn word_mask(block: &[u8]) -> u64 {
    fn is_word(b: u8) -> bool {
        b.wrapping_sub(b'0') < 10 || (b | 0x20).wrapping_sub(b'a') < 26 || b == b'_'
    }
    let mut flags = [0u8; 64];
    for (f, &b) in flags.iter_mut().zip(block) {
        *f = u8::from(is_word(b));
    }
    let mut m = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let mut le = [0u8; 8];
        le.copy_from_slice(eight);
        // Each byte is 0 or 1; the product gathers byte j's bit into bit 56 + j.
        let packed = u64::from_le_bytes(le).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        m |= packed << (8 * k);
    }
    m
}

/// A line that starts a message block: a printed or bare message line (its first word starts
/// with a message id, or is `*NONE`), or an empty line.
fn is_block_start(line: &str) -> bool {
    let t = trim_start(line);
    // The first word starts with an id exactly when the text does (an id holds no space);
    // it is `*NONE` when the text starts so and the word ends there.
    t.is_empty()
        || t.get(..7).is_some_and(crate::kb::is_message_id)
        || t.strip_prefix("*NONE")
            .is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace))
}

/// Whether `line`'s words joined by single spaces are `joined`, without building the join.
fn same_words(line: &str, joined: &str) -> bool {
    if !line.is_ascii() {
        return line.split_whitespace().collect::<Vec<_>>().join(" ") == joined;
    }
    // ASCII whitespace as `char::is_whitespace` has it (vertical tab included).
    let ws = |b: u8| b == b' ' || (0x09..=0x0d).contains(&b);
    let (line, joined) = (line.as_bytes(), joined.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < line.len() && ws(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return j == joined.len();
        }
        if j > 0 {
            if joined.get(j) != Some(&b' ') {
                return false;
            }
            j += 1;
        }
        while i < line.len() && !ws(line[i]) {
            if joined.get(j) != Some(&line[i]) {
                return false;
            }
            i += 1;
            j += 1;
        }
    }
}

/// `str::trim_start`, quicker on the runs of ASCII spaces that indent job-log lines.
fn trim_start(line: &str) -> &str {
    let i = line.bytes().position(|b| b != b' ').unwrap_or(line.len());
    let t = &line[i..];
    if t.as_bytes().first().is_some_and(u8::is_ascii_graphic) {
        t
    } else {
        t.trim_start()
    }
}

/// Appends `line` and a line end to `norm`, normalised as [`input::clean_line`] does. A line
/// of a plain chunk (see [`is_plain`]) stays as it is unless it is quoted.
fn push_line(line: &str, plain: bool, norm: &mut String) {
    if plain && !matches!(line.bytes().find(|&b| b != b' '), Some(b'>' | b'&')) {
        norm.push_str(line);
        norm.push('\n');
    } else {
        input::clean_line(line, norm);
    }
}

/// Whether every byte is printable ASCII other than a backtick, or a line end: then
/// normalising a line changes nothing unless it starts with a quote marker (`>` or `&gt;`
/// after spaces), and no character is a control character. One pass the compiler turns
/// into vector instructions, instead of a look at every character of every line.
fn is_plain(raw: &[u8]) -> bool {
    raw.chunks(4096).all(|block| {
        block.iter().fold(true, |ok, &b| {
            ok & ((b.wrapping_sub(0x20) < 0x5f) & (b != b'`') | (b == b'\n'))
        })
    })
}

/// Where a chunk of `rest` (longer than [`CHUNK`]) ends: after its last line end, or, when
/// its first line is longer than a chunk, after that line, unless it is longer than
/// [`LONG_LINE`].
fn cut_at(rest: &[u8]) -> usize {
    if let Some(i) = memchr::memrchr(b'\n', &rest[..CHUNK]) {
        return i + 1;
    }
    let long = rest.len().min(LONG_LINE);
    memchr::memchr(b'\n', &rest[CHUNK..long]).map_or(long, |i| CHUNK + i + 1)
}

#[derive(Debug, thiserror::Error)]
pub enum SkimError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot read the input: {0}")]
    Read(std::io::Error),
}

#[derive(Default)]
struct State {
    out: Skimmed,
    /// Message id -> (first line, lines seen on).
    ids: HashMap<Id, (usize, u32), rustc_hash::FxBuildHasher>,
    marker_counts: Vec<u32>,
    /// Once-markers whose lines have all been read, and how many were when the live
    /// automaton was built.
    spent: usize,
    spent_at_build: usize,
    live: Option<Live>,
    /// Distinct lines found holding no live marker (see [`CLEAN_BYTES`]).
    clean: HashSet<String, rustc_hash::FxBuildHasher>,
    clean_bytes: usize,
    /// Bytes scanned for markers, and when to look at rebuilding the automaton next.
    scanned: usize,
    next_check: usize,
    lines_before: usize,
    last_emitted: usize,
    forward: usize,
    control: usize,
    chars: usize,
    lossy: bool,
    seen_page_header: bool,
    any_content: bool,
    last_job_header: Option<String>,
    /// The last job header line as it was, whose words are `last_job_header`.
    last_job_line: String,
    /// Scratch buffers of [`Skimmer::chunk`], kept from one chunk to the next.
    norm: String,
    starts: Vec<usize>,
    seed: Vec<bool>,
    keep: Vec<bool>,
}

impl State {
    /// The first page header, and job headers whenever the job changes.
    fn wants_structure(&mut self, line: &str) -> bool {
        if !self.seen_page_header && line.contains("Display Job Log") {
            self.seen_page_header = true;
            return true;
        }
        if line.contains("Job name") && line.contains(". :") {
            // The header with its spacing evened out, compared word by word before it is
            // built: the same job's header comes back on every page, mostly the very same line.
            if line == self.last_job_line {
                return false;
            }
            let same = self
                .last_job_header
                .as_deref()
                .is_some_and(|last| same_words(line, last));
            self.last_job_line.clear();
            self.last_job_line.push_str(line);
            if !same {
                self.last_job_header = Some(line.split_whitespace().collect::<Vec<_>>().join(" "));
                return true;
            }
        }
        false
    }

    fn emit(&mut self, line: &str, no: usize) {
        if self.last_emitted != 0 && no > self.last_emitted + 1 {
            self.out.text.push('\n');
            self.out.lines.push(0);
        }
        self.out.text.push_str(line);
        self.out.text.push('\n');
        self.out.lines.push(no);
        self.last_emitted = no;
    }

    fn finish(mut self) -> Result<Skimmed, SkimError> {
        let total = self.chars.max(1);
        if self.control * 5 > total {
            return Err(SkimError::Input(InputError::Binary {
                percent: self.control * 100 / total,
            }));
        }
        if !self.any_content {
            return Err(SkimError::Input(InputError::Empty));
        }
        let mut ids: Vec<(String, usize)> = self
            .ids
            .into_iter()
            .map(|(id, (line, _))| (String::from_utf8_lossy(&id).into_owned(), line))
            .collect();
        ids.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        self.out.ids = ids;
        self.out.total_lines = self.lines_before;
        self.out.lossy = self.lossy;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn by_regex(text: &[u8]) -> Vec<usize> {
        let re = regex::bytes::Regex::new(r"(?i-u)\b[a-z]{3}[0-9a-f]{4}\b").unwrap();
        re.find_iter(text).map(|m| m.start()).collect()
    }

    #[test]
    fn id_shaped_words_are_what_the_regex_finds() {
        for text in [
            "CPDB053 cpfa09c CPF9898x xCPF9898 CPF98980 _CPF9898 CPF9898_ CPF-9898 CPE3401.",
            "ÄCPF9898 CPF9898é CPF9898\nMCH3601\tcpd0000,msg1234",
            "",
            "ABC12",
            "abcdefg abc123g ab1cdef",
        ] {
            assert_eq!(
                id_shaped(text.as_bytes()).collect::<Vec<_>>(),
                by_regex(text.as_bytes()),
                "{text:?}"
            );
        }
    }

    /// What `is_block_start` was before its ASCII shortcuts.
    fn block_start_reference(line: &str) -> bool {
        let t = line.trim_start();
        let Some(first) = t.split_whitespace().next() else {
            return true;
        };
        first == "*NONE" || first.get(..7).is_some_and(crate::kb::is_message_id)
    }

    fn plain_reference(raw: &[u8]) -> bool {
        raw.iter()
            .all(|&b| b == b'\n' || ((0x20..0x7f).contains(&b) && b != b'`'))
    }

    #[test]
    fn shortcuts_agree_with_what_they_replace() {
        for line in [
            "",
            "   ",
            "\u{a0}CPF9898 x",
            "  *NONE",
            "*NONE\u{a0}x",
            "*NONEx",
            "\t\x0bCPDB053",
            "CPDB05",
            "CPDB053é",
            "   Job name . . :   A   B",
        ] {
            assert_eq!(is_block_start(line), block_start_reference(line), "{line:?}");
        }
        assert!(same_words("  Job  name\t. :\x0bX ", "Job name . : X"));
        assert!(!same_words("Job name . : X Y", "Job name . : X"));
        assert!(!same_words("Job name", "Job name . : X"));
        assert!(same_words("Job\u{a0}name", "Job name"));
        assert!(is_plain(b"CPF9898 x\n  > q\n"));
        assert!(!is_plain(b"a\tb") && !is_plain(b"`x`") && !is_plain("é".as_bytes()) && !is_plain(b"\x7f"));
    }

    proptest::proptest! {
        #[test]
        fn shortcuts_agree_on_any_text(
            text in proptest::collection::vec(proptest::sample::select(vec![
                " ", "\t", "\x0b", "\u{a0}", "\u{3000}", "*NONE", "CPF9898", "cpf9898", "CPDB05", "3", "x",
                "Job", ".", ":", "é", "\r", "`", ">", "&gt;", "```", "\x7f",
            ]), 0..12).prop_map(|parts| parts.concat()),
            other in proptest::collection::vec(proptest::sample::select(vec![" ", "Job", "x", "\t"]), 0..6)
                .prop_map(|parts| parts.concat()),
        ) {
            proptest::prop_assert_eq!(is_block_start(&text), block_start_reference(&text));
            let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert!(same_words(&text, &joined));
            let other_joined = other.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(same_words(&text, &other_joined), joined == other_joined);
            proptest::prop_assert_eq!(is_plain(text.as_bytes()), plain_reference(text.as_bytes()));
            let plain = is_plain(text.as_bytes());
            let (mut fast, mut slow) = (String::new(), String::new());
            push_line(&text, plain, &mut fast);
            input::clean_line(&text, &mut slow);
            proptest::prop_assert_eq!(fast, slow);
        }

        #[test]
        fn id_shaped_matches_the_regex_on_any_bytes(
            text in proptest::collection::vec(proptest::sample::select(
                b"ACFMPZacfz0129_- \n\xc3\xa9".to_vec()), 0..400)
        ) {
            proptest::prop_assert_eq!(id_shaped(&text).collect::<Vec<_>>(), by_regex(&text));
        }
    }
}
