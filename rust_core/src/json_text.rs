//! The pieces of JSON text as Python's `json.dumps(value, indent=2)` writes them (ASCII only):
//! strings, and floats as `repr(round(x, digits))`, NaN as null. The bindings walk the values;
//! what is written here is byte for byte what Python writes.

use std::fmt::Write;

/// Appends `s` as a JSON string: `"`, `\` and the controls escaped (the short forms where JSON
/// has them), and every character outside printable ASCII as `\uXXXX` (surrogate pairs past
/// U+FFFF).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `x` rounded to `digits` decimals as Python's `round` does: the correctly rounded decimal
/// (ties to even on the exact binary value), read back.
pub fn round_to(x: f64, digits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.prec$}", prec = digits as usize)
        .parse()
        .unwrap_or(x)
}

/// Appends a float as Python's `repr` writes it (`json.dumps` writes floats so), rounded to
/// `digits` decimals first when given; NaN as `null`, infinities as `Infinity` and
/// `-Infinity`.
pub fn push_float(out: &mut String, x: f64, digits: Option<u32>) {
    if x.is_nan() {
        out.push_str("null");
        return;
    }
    let x = digits.map_or(x, |d| round_to(x, d));
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    push_repr(out, x);
}

/// The shortest digits that read back as `x`, laid out as Python's `repr`: positional when the
/// decimal point falls within 4 places before the first digit and 16 after, else with an
/// exponent of at least two digits (`1e-05`, `1.5e+16`).
fn push_repr(out: &mut String, x: f64) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (digits, exp) = shortest(x.abs());
    let n = digits.len() as i32;
    // the value is 0.DIGITS x 10^point
    let point = exp + 1;
    out.push_str(sign);
    if point <= -4 || point > 16 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = point - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point >= n {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - n) as usize));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
}

/// The digits of `{:e}` (mantissa without its point) and the exponent.
fn sci_digits(formatted: &str) -> (String, i32) {
    let (mantissa, exp) = formatted.split_once('e').expect("{:e} has an exponent");
    let digits = mantissa.chars().filter(|&c| c != '.').collect();
    (digits, exp.parse().expect("{:e} has an integer exponent"))
}

/// The shortest digits that read back as `x` (not negative) and the exponent of the first, as
/// Python's `repr` picks them. `{:e}` gives the shortest round-trip digits closest to `x`; when
/// two candidates are exactly as close (`x` is halfway between them, which takes at least 16
/// digits) and both read back as `x`, Python takes the one whose last digit is even, and so
/// does this.
fn shortest(x: f64) -> (String, i32) {
    let (digits, exp) = sci_digits(&format!("{x:e}"));
    if digits.len() < 16 {
        return (digits, exp);
    }
    let n = digits.len();
    // a tie's exact value has n + 1 digits, the last a 5: a quick look at n + 1 digits first
    let (near, near_exp) = sci_digits(&format!("{x:.n$e}"));
    if near_exp != exp || !near.ends_with('5') {
        return (digits, exp);
    }
    // the exact value: a double has at most 767 significant decimal digits
    let (exact, exact_exp) = sci_digits(&format!("{x:.800e}"));
    let exact = exact.trim_end_matches('0');
    if exact_exp != exp || exact.len() != n + 1 || !exact.ends_with('5') {
        return (digits, exp);
    }
    let (even, even_exp) = even_of(&exact[..n], exp);
    // only where it reads back as `x`: below a power of two the next double down is nearer, and
    // the lower candidate may read as it
    let scale = even_exp - (even.len() as i32 - 1);
    let back: f64 = format!("{even}e{scale}")
        .parse()
        .expect("digits and an exponent");
    if back == x {
        (even, even_exp)
    } else {
        (digits, exp)
    }
}

/// Of `lower` (digits, the first at exponent `exp`) and the digits one unit of its last place
/// above, the one whose last digit is even; trailing zeros dropped.
fn even_of(lower: &str, exp: i32) -> (String, i32) {
    let mut d = lower.as_bytes().to_vec();
    let mut exp = exp;
    if d[d.len() - 1] % 2 == 1 {
        // round the odd last digit up, carrying
        let mut i = d.len();
        loop {
            if i == 0 {
                d.insert(0, b'1');
                exp += 1;
                break;
            }
            i -= 1;
            if d[i] == b'9' {
                d[i] = b'0';
            } else {
                d[i] += 1;
                break;
            }
        }
    }
    let s = String::from_utf8(d).expect("ASCII digits");
    let kept = s.trim_end_matches('0');
    (if kept.is_empty() { "0" } else { kept }.to_string(), exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(x: f64, digits: Option<u32>) -> String {
        let mut s = String::new();
        push_float(&mut s, x, digits);
        s
    }

    #[test]
    fn floats_as_python_writes_them() {
        // (value, repr(value)) as CPython prints them
        for (x, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (42.775, "42.775"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.12345679, "123456789.12345679"),
            (1.234e100, "1.234e+100"),
            (-2.5e-300, "-2.5e-300"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            // halfway between two shortest candidates: the even last digit, as CPython
            (2f64.powi(49) + 0.25, "562949953421312.2"),
            (2f64.powi(49) + 0.75, "562949953421312.8"),
            (-(2f64.powi(49) + 9.75), "-562949953421321.8"),
            (123_456_789_012_345.67, "123456789012345.67"),
            // halfway, but the even candidate reads back as the double below (2^-24)
            (5.960464477539063e-08, "5.960464477539063e-08"),
        ] {
            assert_eq!(float(x, None), want, "{x}");
        }
        assert_eq!(float(f64::NAN, Some(10)), "null");
        assert_eq!(float(f64::INFINITY, None), "Infinity");
        assert_eq!(float(f64::NEG_INFINITY, Some(3)), "-Infinity");
    }

    #[test]
    fn rounding_as_python_rounds() {
        // round(x, n) in CPython: ties to even on the exact binary value
        assert_eq!(float(39.75616428880001, Some(10)), "39.7561642888");
        assert_eq!(float(1.0 / 2048.0, Some(10)), "0.0004882812");
        assert_eq!(float(2.675, Some(2)), "2.67");
        assert_eq!(float(0.125, Some(2)), "0.12");
        assert_eq!(float(0.375, Some(2)), "0.38");
        assert_eq!(float(2.5, Some(0)), "2.0");
        assert_eq!(float(-0.00000000001, Some(10)), "-0.0");
        assert_eq!(float(1e300, Some(10)), "1e+300");
    }

    #[test]
    fn strings_in_ascii() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f} é ☃ 𝄞");
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u007f \\u00e9 \\u2603 \\ud834\\udd1e\""
        );
    }
}
