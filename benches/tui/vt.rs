//! Just enough of a terminal to tell what scxtop's screen shows: the text of
//! each cell, from the bytes ratatui's crossterm backend writes. Styles are
//! dropped: the markers are text. A whole-screen model rather than a search
//! of the byte stream, because ratatui only sends the cells that changed, so
//! a title can arrive in pieces or not at all when some cells already match.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    Ground,
    Esc,
    Csi,
    /// The byte after ESC ( and friends names a character set.
    Charset,
    Osc,
    OscEsc,
}

pub struct Screen {
    cols: usize,
    rows: usize,
    cells: Vec<char>,
    row: usize,
    col: usize,
    parse: Parse,
    csi: Vec<u8>,
    utf8: Vec<u8>,
}

impl Screen {
    pub fn new(cols: usize, rows: usize) -> Self {
        Self {
            cols,
            rows,
            cells: vec![' '; cols * rows],
            row: 0,
            col: 0,
            parse: Parse::Ground,
            csi: Vec::new(),
            utf8: Vec::new(),
        }
    }

    /// Sequences and characters may be split across reads: the parser keeps
    /// its state between calls.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.parse {
                Parse::Ground => match b {
                    0x1b => {
                        self.utf8.clear();
                        self.parse = Parse::Esc;
                    }
                    b'\r' => self.col = 0,
                    b'\n' => self.row = (self.row + 1).min(self.rows - 1),
                    0x08 => self.col = self.col.saturating_sub(1),
                    0x00..=0x1f | 0x7f => {}
                    _ => self.text(b),
                },
                Parse::Esc => {
                    self.parse = match b {
                        b'[' => {
                            self.csi.clear();
                            Parse::Csi
                        }
                        b']' => Parse::Osc,
                        b'(' | b')' | b'*' | b'+' | b'#' => Parse::Charset,
                        _ => Parse::Ground,
                    }
                }
                Parse::Charset => self.parse = Parse::Ground,
                Parse::Csi => {
                    if (0x40..=0x7e).contains(&b) {
                        self.csi_final(b);
                        self.parse = Parse::Ground;
                    } else {
                        self.csi.push(b);
                    }
                }
                Parse::Osc => match b {
                    0x07 => self.parse = Parse::Ground,
                    0x1b => self.parse = Parse::OscEsc,
                    _ => {}
                },
                Parse::OscEsc => self.parse = Parse::Ground,
            }
        }
    }

    fn text(&mut self, b: u8) {
        if b < 0x80 {
            self.utf8.clear();
            self.put(b as char);
            return;
        }
        if b >= 0xc0 {
            self.utf8.clear();
        }
        self.utf8.push(b);
        let need = match self.utf8[0] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => {
                self.utf8.clear();
                self.put('?');
                return;
            }
        };
        if self.utf8.len() == need {
            let c = std::str::from_utf8(&self.utf8)
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or('?');
            self.utf8.clear();
            self.put(c);
        }
    }

    /// No wrapping: ratatui moves the cursor before any cell that does not
    /// follow the last one on the same row.
    fn put(&mut self, c: char) {
        if self.row < self.rows && self.col < self.cols {
            self.cells[self.row * self.cols + self.col] = c;
        }
        self.col += 1;
    }

    fn clear(&mut self, from: usize, to: usize) {
        let end = to.min(self.cells.len());
        if from < end {
            self.cells[from..end].fill(' ');
        }
    }

    fn csi_final(&mut self, f: u8) {
        let private = self.csi.first() == Some(&b'?');
        let params = String::from_utf8_lossy(&self.csi).into_owned();
        let nums: Vec<usize> = params
            .trim_start_matches('?')
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let n = |i: usize| nums.get(i).copied().unwrap_or(0);
        let here = self.row * self.cols + self.col.min(self.cols);
        let line = self.row * self.cols;
        match (private, f) {
            (false, b'H' | b'f') => {
                self.row = n(0).max(1).min(self.rows) - 1;
                self.col = n(1).max(1).min(self.cols) - 1;
            }
            (false, b'G') => self.col = n(0).max(1).min(self.cols) - 1,
            (false, b'A') => self.row = self.row.saturating_sub(n(0).max(1)),
            (false, b'B') => self.row = (self.row + n(0).max(1)).min(self.rows - 1),
            (false, b'C') => self.col = (self.col + n(0).max(1)).min(self.cols - 1),
            (false, b'D') => self.col = self.col.saturating_sub(n(0).max(1)),
            (false, b'J') => match n(0) {
                0 => self.clear(here, self.cells.len()),
                1 => self.clear(0, here + 1),
                _ => self.clear(0, self.cells.len()),
            },
            (false, b'K') => match n(0) {
                0 => self.clear(here, line + self.cols),
                1 => self.clear(line, here + 1),
                _ => self.clear(line, line + self.cols),
            },
            // Entering or leaving the alternate screen: the other screen's
            // text is not ours to know, and scxtop redraws all of it anyway.
            (true, b'h' | b'l') if nums.contains(&1049) => {
                self.clear(0, self.cells.len());
                self.row = 0;
                self.col = 0;
            }
            _ => {}
        }
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.cells
            .chunks(self.cols)
            .any(|row| row.iter().collect::<String>().contains(needle))
    }

    /// The rows that hold anything, trimmed: for a failure message.
    pub fn text_rows(&self) -> Vec<String> {
        self.cells
            .chunks(self.cols)
            .map(|row| row.iter().collect::<String>().trim_end().to_string())
            .filter(|row| !row.trim().is_empty())
            .collect()
    }
}
