//! Which column holds what: found by the header's Chinese names (and their
//! common variants), or given as `--columns name=姓名,id=C,…`.

use crate::grid::{column_of_letters, Grid};
use crate::IntakeError;
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

/// A field a sheet's column can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// 姓名.
    Name,
    /// 身份证号.
    ResidentId,
    /// 残疾证号.
    Certificate,
    /// 残疾类别.
    Category,
    /// 残疾等级.
    Level,
    /// 性别.
    Gender,
    /// 乡镇/街道.
    Township,
    /// 联系电话 (read by no one: recognised so that it is never mistaken).
    Phone,
    /// 签名.
    Signed,
    /// 日期 (spending).
    Date,
    /// 金额 (spending).
    Amount,
    /// 摘要 (spending).
    Purpose,
    /// 凭证号 (spending).
    Voucher,
    /// 支出类别 (spending).
    PayeeCategory,
    /// 台账 (spending: the roster it paid for).
    RosterReference,
}

impl Field {
    /// The name `--columns` uses.
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::ResidentId => "id",
            Field::Certificate => "cert",
            Field::Category => "category",
            Field::Level => "level",
            Field::Gender => "gender",
            Field::Township => "township",
            Field::Phone => "phone",
            Field::Signed => "signed",
            Field::Date => "date",
            Field::Amount => "amount",
            Field::Purpose => "purpose",
            Field::Voucher => "voucher",
            Field::PayeeCategory => "payee",
            Field::RosterReference => "roster",
        }
    }

    /// The header a clerk's template uses for it, as errors name it.
    pub fn header(self) -> &'static str {
        SYNONYMS
            .iter()
            .find(|(field, _)| *field == self)
            .map_or("", |(_, names)| names[0])
    }

    fn all() -> impl Iterator<Item = Field> {
        SYNONYMS.iter().map(|(field, _)| *field)
    }
}

/// Header names, after [`normal`]: the first is the one errors show.
const SYNONYMS: [(Field, &[&str]); 15] = [
    (
        Field::Name,
        &[
            "姓名",
            "学员姓名",
            "参训人员姓名",
            "残疾人姓名",
            "参训人姓名",
        ],
    ),
    (
        Field::ResidentId,
        &[
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "身份证",
            "居民身份证号码",
            "身份证件号码",
            "证件号码",
        ],
    ),
    (
        Field::Certificate,
        &[
            "残疾证号",
            "残疾人证号",
            "残疾证号码",
            "残疾人证号码",
            "残疾证",
            "残疾人证",
            "第二代残疾人证号",
        ],
    ),
    (
        Field::Category,
        &["残疾类别", "残疾类型", "类别", "残疾种类"],
    ),
    (Field::Level, &["残疾等级", "残疾级别", "等级"]),
    (Field::Gender, &["性别"]),
    (
        Field::Township,
        &["乡镇", "乡镇/街道", "乡镇街道", "所在乡镇", "街道", "乡"],
    ),
    (
        Field::Phone,
        &["联系电话", "电话", "手机", "手机号", "手机号码", "联系方式"],
    ),
    (
        Field::Signed,
        &["签名", "本人签名", "签字", "学员签名", "是否签名", "签到"],
    ),
    (Field::Date, &["日期", "支出日期", "发生日期", "付款日期"]),
    (Field::Amount, &["金额", "支出金额", "金额(元)", "发生额"]),
    (
        Field::Purpose,
        &["摘要", "用途", "支出用途", "事由", "支出内容"],
    ),
    (Field::Voucher, &["凭证号", "凭证编号", "记账凭证号"]),
    (
        Field::PayeeCategory,
        &["支出类别", "费用类别", "收款方类别", "类目"],
    ),
    (
        Field::RosterReference,
        &["台账", "培训台账", "对应台账", "台账编号"],
    ),
];

/// A header cell made comparable: NFKC, no spaces, no `*` (required
/// marks), no note in brackets (`身份证号（必填）`).
pub fn normal(text: &str) -> String {
    let text: String = text
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect();
    let mut out = String::new();
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' | '[' | '【' => depth += 1,
            ')' | ']' | '】' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The columns of a sheet: the header's row and each field's column.
#[derive(Clone, Debug)]
pub struct Columns {
    /// The header's row (0-based).
    pub header_row: usize,
    /// Each field's column (0-based).
    pub of: BTreeMap<Field, usize>,
}

impl Columns {
    /// The column of `field`, if the sheet has one.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.of.get(&field).copied()
    }
}

/// `--columns name=姓名,id=C`: fields to header names or column letters.
pub fn parse_mapping(text: &str) -> Result<Vec<(Field, String)>, IntakeError> {
    let mut mapping = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            IntakeError::Usage(format!(
                "--columns: {part:?} is not FIELD=HEADER (e.g. id=身份证号 or id=C)"
            ))
        })?;
        let field = Field::all()
            .find(|f| f.key() == key.trim())
            .ok_or_else(|| {
                let keys: Vec<&str> = Field::all().map(Field::key).collect();
                IntakeError::Usage(format!(
                    "--columns: unknown field {key:?} (one of {})",
                    keys.join(", ")
                ))
            })?;
        mapping.push((field, value.trim().to_string()));
    }
    Ok(mapping)
}

/// Finds the header row among the first 30 rows: the first row naming
/// every field of `required` (by a synonym, or as `mapping` says). A
/// mapping's column letters need no header.
pub fn find(grid: &Grid, required: &[Field], mapping: &[(Field, String)]) -> Option<Columns> {
    for row in 0..grid.rows.len().min(30) {
        let headers: Vec<String> = grid.rows[row].iter().map(|c| normal(&c.text())).collect();
        let mut of = BTreeMap::new();
        for (column, header) in headers.iter().enumerate() {
            if header.is_empty() {
                continue;
            }
            if let Some(field) = Field::all().find(|f| {
                !mapping.iter().any(|(m, _)| m == f)
                    && SYNONYMS
                        .iter()
                        .any(|(g, names)| g == f && names.iter().any(|n| normal(n) == *header))
            }) {
                of.entry(field).or_insert(column);
            }
        }
        // A row is a header when it names a field; columns given by
        // letter alone make one of the first row they all have text in.
        let mut named = !of.is_empty();
        for (field, value) in mapping {
            let by_name = headers.iter().position(|h| *h == normal(value));
            named |= by_name.is_some();
            if let Some(column) = by_name.or_else(|| column_of_letters(value)) {
                of.insert(*field, column);
            }
        }
        let all_filled = of.values().all(|c| !grid.cell(row, *c).is_blank());
        if (named || all_filled) && required.iter().all(|f| of.contains_key(f)) {
            return Some(Columns {
                header_row: row,
                of,
            });
        }
    }
    None
}

/// The first grid (of the sheet named `sheet`, when given) with a header
/// row naming `required`, and its columns.
pub fn locate<'g>(
    grids: &'g [Grid],
    sheet: Option<&str>,
    required: &[Field],
    mapping: &[(Field, String)],
) -> Option<(&'g Grid, Columns)> {
    grids
        .iter()
        .filter(|g| sheet.map_or(true, |s| g.sheet.as_deref() == Some(s)))
        .find_map(|g| Some((g, find(g, required, mapping)?)))
}
