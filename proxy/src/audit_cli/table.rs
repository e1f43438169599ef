//! Plain-text tables for the terminal.

/// `rows` under `headers`, columns padded to their widest cell and two spaces apart.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_cells: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `text` safe to print: control characters (a terminal escape hidden in a stored address)
/// become `?`.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_escapes_are_defused() {
        let rows = vec![
            vec!["a".to_string(), "longer".to_string()],
            vec![printable("x\u{1b}[31m"), "y".to_string()],
        ];
        assert_eq!(
            render(&["ONE", "TWO"], &rows),
            "ONE     TWO\na       longer\nx?[31m  y\n"
        );
    }
}
