//! The `?` screen: every key and what it does, from the keymap's own table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::theme::Theme;
use crate::app::keymap::BINDINGS;

pub fn render(area: Rect, buf: &mut Buffer, theme: Theme) {
    let width = 76.min(area.width);
    let height = (BINDINGS.len() as u16 + 4).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<20}"), theme.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        " Headless: scxtop --headless reads attach, detach, reload, printk, quit on stdin",
        theme.dim(),
    )));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(Span::styled(" Keys (? or Esc closes) ", theme.title()))
                .border_style(theme.focused_border()),
        )
        .render(popup, buf);
}
