//! Numbers and text as the panes print them: short, fixed units, and never
//! a control character (a printk message must not reach the terminal as an
//! escape sequence).

/// A duration in ns as "850ns", "12.3us", "4.56ms", "1.20s".
pub fn ns(v: u64) -> String {
    let f = v as f64;
    if v < 1_000 {
        format!("{v}ns")
    } else if v < 1_000_000 {
        format!("{}us", sig3(f / 1e3))
    } else if v < 1_000_000_000 {
        format!("{}ms", sig3(f / 1e6))
    } else {
        format!("{}s", sig3(f / 1e9))
    }
}

/// A duration in us (as the latency summary carries them).
pub fn us(v: f64) -> String {
    ns((v * 1e3).max(0.0).round() as u64)
}

/// Three significant digits: 1.23, 12.3, 123.
fn sig3(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// A rate or count: "950", "12.3k", "1.20M".
pub fn count(v: f64) -> String {
    if v < 1e3 {
        format!("{v:.0}")
    } else if v < 1e6 {
        format!("{}k", sig3(v / 1e3))
    } else {
        format!("{}M", sig3(v / 1e6))
    }
}

/// Seconds as "45s", "12m03s", "2h05m".
pub fn elapsed(s: f64) -> String {
    let s = s.max(0.0) as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Text safe to put on the screen: control characters (tabs, escapes,
/// newlines, C1 codes) become spaces or U+FFFD.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// `text` in at most `width` columns, ending in "…" when it was longer.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// `text` word-wrapped to `width` columns in at most `max_lines` lines; a
/// word longer than a line is split, and text that does not fit ends in "…".
pub fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // Longer than a whole line: split it.
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let kept: String = last.chars().take(width - 1).collect();
            *last = format!("{kept}…");
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_with_a_mark() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(cut("abc", 0), "");
    }

    #[test]
    fn wrap_breaks_at_words_and_marks_what_does_not_fit() {
        assert_eq!(
            wrap("attach failed: no root", 14, 3),
            ["attach failed:", "no root"]
        );
        assert_eq!(wrap("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        let cut = wrap("one two three four five six", 9, 2);
        assert_eq!(cut, ["one two", "three…"]);
        assert!(cut.iter().all(|l| l.chars().count() <= 9));
        assert!(wrap("", 10, 2).is_empty());
    }

    #[test]
    fn durations_pick_a_unit_and_three_digits() {
        assert_eq!(ns(850), "850ns");
        assert_eq!(ns(12_345), "12.3us");
        assert_eq!(ns(4_560_000), "4.56ms");
        assert_eq!(ns(1_200_000_000), "1.20s");
        assert_eq!(us(2989.0), "2.99ms");
    }

    #[test]
    fn counts_and_elapsed() {
        assert_eq!(count(950.0), "950");
        assert_eq!(count(12_345.0), "12.3k");
        assert_eq!(count(1_200_000.0), "1.20M");
        assert_eq!(elapsed(45.2), "45s");
        assert_eq!(elapsed(723.0), "12m03s");
        assert_eq!(elapsed(7500.0), "2h05m");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let s = printable("a\x1b[2Jb\tc\u{85}d\n");
        assert_eq!(s, "a\u{FFFD}[2Jb c\u{FFFD}d\u{FFFD}");
        assert!(!s.chars().any(char::is_control));
    }
}
