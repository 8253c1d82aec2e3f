//! A deterministic, province-scale workload: N counties over Y fiscal years,
//! with budgets, allocations, rosters, spending, fund-use reports,
//! settlements, next-year offsets, surveys, scores, a few reversals and
//! late filings. Pure: the seed is the only source of variety, and events are
//! produced lazily, in recording order, so a million of them never sit in memory.

use crate::crypto::{person_digest, SecretKey};
use crate::money::Money;
use serde_json::{json, Value};
use std::collections::VecDeque;

/// Expenditure line items per county and year.
pub const EXPENDITURES_PER_COUNTY_YEAR: usize = 29;
/// Rosters per county and year.
pub const ROSTERS_PER_COUNTY_YEAR: usize = 1;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct WorkloadSpec {
    /// Counties (districts).
    pub counties: u32,
    /// Fiscal years, starting at `first_year`.
    pub years: u32,
    /// First fiscal year.
    pub first_year: i32,
    /// Seed of all variety.
    pub seed: u64,
    /// Smallest and largest roster (trainees).
    pub trainees_min: u32,
    /// Largest roster.
    pub trainees_max: u32,
}

/// An event to sign, and who signs it.
pub struct GeneratedEvent {
    /// The unsigned event.
    pub event: Value,
    /// The actor whose key signs it.
    pub actor: String,
}

/// The signing key of a generated actor.
pub fn actor_key(seed: u64, actor: &str) -> SecretKey {
    SecretKey::demo(&format!("gen:{seed}:{actor}"))
}

/// The operator's actor id.
pub const OPERATOR: &str = "province-dpf";
const CITY: &str = "province-dpf-finance";
const EVALUATOR: &str = "province-dpf-eval";
const AUDITOR: &str = "province-audit";

/// Counties a workload can have: one per county-level code of GB/T 2260.
pub const COUNTIES_MAX: u32 = crate::gbt2260::COUNTY_CODES.len() as u32;

/// The `i`-th county's code: the `i`-th of the table.
fn county_code(i: u32) -> String {
    crate::gbt2260::COUNTY_CODES[i as usize].to_string()
}
fn county_actor(i: u32) -> String {
    format!("county-{:06}", 100_000 + i)
}
fn program_id(year: i32) -> String {
    format!("province-{year}")
}

/// splitmix64: a small deterministic stream of numbers from a seed (not
/// for secrets). Also draws the invented detail of the Kunming fixture.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The lazy event stream.
pub struct Workload {
    spec: WorkloadSpec,
    rng: SplitMix64,
    queue: VecDeque<GeneratedEvent>,
    /// Next phase to expand: 0 = opening, then (year, phase) pairs.
    step: u64,
    clock: i64,
    /// Allocation of each county in the current year, in fen.
    allocated_fen: Vec<i64>,
    /// Spending of each county in the current year, in fen.
    spent_fen: Vec<i64>,
    /// Surplus of each county from the previous year, in fen.
    surplus_fen: Vec<i64>,
    digest_secret: Vec<u8>,
    done: bool,
}

impl Workload {
    /// A workload; nothing is generated until it is iterated.
    pub fn new(spec: WorkloadSpec) -> Workload {
        Workload {
            rng: SplitMix64(spec.seed),
            queue: VecDeque::new(),
            step: 0,
            clock: 0,
            allocated_fen: vec![0; spec.counties as usize],
            spent_fen: vec![0; spec.counties as usize],
            surplus_fen: vec![0; spec.counties as usize],
            digest_secret: format!("fundledger gen digest secret {}", spec.seed).into_bytes(),
            done: false,
            spec,
        }
    }

    /// Events this spec produces, exactly.
    pub fn event_count(spec: &WorkloadSpec) -> u64 {
        let c = u64::from(spec.counties);
        let y = u64::from(spec.years);
        let opening = 1 + 3 + c;
        let per_year = 3
            + c
            + (ROSTERS_PER_COUNTY_YEAR as u64 + EXPENDITURES_PER_COUNTY_YEAR as u64) * c
            + 2 * c
            + 4;
        let offsets = c * (y.saturating_sub(1));
        let reversals: u64 = (0..y)
            .map(|year| (0..c).filter(|i| reverses(*i as u32, year as u32)).count() as u64 * 2)
            .sum();
        opening + per_year * y + offsets + reversals
    }

    fn at(&mut self, year: i32, month: u32, day: u32) -> String {
        // Time moves forward one second per event within a phase's start.
        let base = chrono::NaiveDate::from_ymd_opt(year, month, day)
            .expect("valid date")
            .and_hms_opt(8, 0, 0)
            .expect("valid time")
            .and_utc()
            .timestamp()
            - 8 * 3600;
        self.clock = self.clock.max(base) + 1;
        let t = chrono::DateTime::from_timestamp(self.clock, 0)
            .expect("in range")
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid"));
        t.format("%Y-%m-%dT%H:%M:%S+08:00").to_string()
    }

    fn push(&mut self, id: String, actor: &str, kind: &str, at: String, body: Value) {
        self.queue.push_back(GeneratedEvent {
            event: json!({"id": id, "actor": actor, "kind": kind, "at": at, "body": body}),
            actor: actor.to_string(),
        });
    }

    fn opening(&mut self) {
        let y = self.spec.first_year;
        let at = self.at(y - 1, 12, 1);
        let seed = self.spec.seed;
        self.push("ledger-opened".into(), OPERATOR, "ledger_opened", at, json!({
            "name": format!("generated province ledger (seed {seed})"),
            "operator_key": actor_key(seed, OPERATOR).public().to_hex(), "currency": "CNY", "utc_offset": "+08:00", "nonce": blake3::derive_key("fundledger:workload-nonce:v1", &seed.to_be_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()}));
        for (actor, role) in [(CITY, "city"), (EVALUATOR, "city"), (AUDITOR, "auditor")] {
            let at = self.at(y - 1, 12, 1);
            self.push(format!("enrol.{actor}"), OPERATOR, "actor_enrolled", at, json!({"actor": actor, "role": role, "key": actor_key(seed, actor).public().to_hex()}));
        }
        for i in 0..self.spec.counties {
            let at = self.at(y - 1, 12, 2);
            let actor = county_actor(i);
            self.push(format!("enrol.{actor}"), OPERATOR, "actor_enrolled", at, json!({"actor": actor, "role": "district", "district": county_code(i), "key": actor_key(seed, &actor).public().to_hex()}));
        }
    }

    fn year_start(&mut self, year: i32) {
        let program = program_id(year);
        let counties = self.spec.counties;
        let at = self.at(year, 1, 5);
        let districts: Vec<Value> = (0..counties)
            .map(|i| json!({"code": county_code(i), "name": format!("第{i}县")}))
            .collect();
        self.push(format!("{program}.opened"), CITY, "program_opened", at, json!({
            "program": program, "fiscal_year": year, "name": format!("{year}年农村困难残疾人实用技术培训补助经费"),
            "funding_documents": [{"number": format!("财社〔{year}〕1号"), "title": "补助经费下达通知"}],
            "districts": districts,
            "targets": {"trainees_min": u64::from(counties) * 120, "satisfaction_min": "80.00", "cost_per_trainee_max_cny": "500.00"},
            "deadlines": {"training_ledger_due_local": format!("{year}-10-30"), "fund_use_report_due_local": format!("{year}-11-30")},
            "evaluation_framework": {"indicators": [
                {"code": "A", "name": "项目决策", "weight": "20.00", "children": [{"code": "A1", "name": "立项", "weight": "20.00"}]},
                {"code": "B", "name": "项目管理", "weight": "20.00", "children": [
                    {"code": "B1", "name": "预算执行率", "weight": "10.00", "measure": "execution_rate"},
                    {"code": "B2", "name": "按时报送", "weight": "10.00", "measure": "timeliness"}]},
                {"code": "C", "name": "项目绩效", "weight": "60.00", "children": [
                    {"code": "C1", "name": "培训人数", "weight": "20.00", "measure": "trainees_against_target"},
                    {"code": "C2", "name": "人均成本", "weight": "10.00", "measure": "cost_per_trainee"},
                    {"code": "C3", "name": "满意度", "weight": "10.00", "measure": "satisfaction_against_target"},
                    {"code": "C4", "name": "效益", "weight": "20.00"}]}]}}));
        // Allocations: 30,000–400,000 CNY per county, in whole yuan.
        let mut total_fen = 0i64;
        for i in 0..counties as usize {
            self.allocated_fen[i] = (30_000 + self.rng.below(370_000) as i64) * 100;
            self.spent_fen[i] = 0;
            total_fen += self.allocated_fen[i];
        }
        let at = self.at(year, 1, 10);
        self.push(format!("{program}.budget"), CITY, "budget_approved", at, json!({"program": program, "amount_cny": Money::from_fen(total_fen).to_string(), "document": {"number": format!("财社〔{year}〕1号"), "title": "预算批复"}}));
        let at = self.at(year, 1, 20);
        self.push(format!("{program}.funds"), CITY, "funds_received", at, json!({"program": program, "amount_cny": Money::from_fen(total_fen).to_string(), "source": "省财政厅"}));
        for i in 0..counties {
            let at = self.at(year, 2, 1);
            let amount = Money::from_fen(self.allocated_fen[i as usize]).to_string();
            self.push(
                format!("{program}.alloc.{}", county_code(i)),
                CITY,
                "allocation_made",
                at,
                json!({"program": program, "district_code": county_code(i), "amount_cny": amount}),
            );
        }
        // Offsets of last year's surpluses into this year.
        if year > self.spec.first_year {
            let previous = program_id(year - 1);
            for i in 0..counties {
                let at = self.at(year, 2, 15);
                let surplus = Money::from_fen(self.surplus_fen[i as usize]).to_string();
                self.push(format!("{previous}.offset.{}", county_code(i)), CITY, "offset_applied", at, json!({"program": previous, "district_code": county_code(i), "surplus_cny": surplus, "into_program": program}));
            }
        }
    }

    fn county_year(&mut self, year: i32, i: u32, late_roster: bool) {
        let program = program_id(year);
        let code = county_code(i);
        let actor = county_actor(i);
        let iu = i as usize;
        // Months rise with the county index so the ledger's time only moves forward.
        let month = 3 + (i * 7 / self.spec.counties.max(1));
        for r in 0..ROSTERS_PER_COUNTY_YEAR {
            let span = u64::from(self.spec.trainees_max - self.spec.trainees_min + 1);
            let n = self.spec.trainees_min as u64 + self.rng.below(span);
            let trainees: Vec<Value> = (0..n)
                .map(|t| {
                    let person = format!("{code}:{}:{t}", (i as u64 * 7 + t) % 100_000 + self.rng.below(3) * 100_000);
                    json!({"person_digest": person_digest(&self.digest_secret, &person).to_hex(), "name_masked": "李*", "disability_category": 1 + t % 7, "disability_level": 1 + t % 4, "signed": true})
                })
                .collect();
            let doc = blake3::hash(format!("{program}/{code}/{r}").as_bytes())
                .to_hex()
                .to_string();
            let at = if late_roster {
                self.at(year, 11, 2)
            } else {
                self.at(year, month, 10)
            };
            self.push(format!("{program}.roster.{code}.{r}"), &actor, "roster_filed", at, json!({
                "program": program, "district_code": code, "township": format!("第{r}乡"),
                "session": {"title": "实用技术培训班", "start_date": format!("{year}-{month:02}-01"), "end_date": format!("{year}-{month:02}-05")},
                "trainees": trainees,
                "documents": {"training_plan": doc, "trainee_roster": doc, "participant_publicity": doc, "training_briefing": doc, "training_summary": doc, "fund_use_statement": doc, "courseware": doc}}));
        }
        // Spend about 92–102 % of the allocation in line items.
        let target = self.allocated_fen[iu] * (92 + self.rng.below(11) as i64) / 100;
        let per_item = target / EXPENDITURES_PER_COUNTY_YEAR as i64;
        for e in 0..EXPENDITURES_PER_COUNTY_YEAR {
            let fen = per_item + self.rng.below(100) as i64;
            self.spent_fen[iu] += fen;
            let at = if late_roster {
                self.at(year, 11, 3)
            } else {
                self.at(year, month, 20)
            };
            self.push(format!("{program}.spend.{code}.{e}"), &actor, "expenditure_reported", at, json!({"program": program, "district_code": code, "amount_cny": Money::from_fen(fen).to_string(), "purpose": "培训场地、教材、师资"}));
        }
    }

    fn year_end(&mut self, year: i32) {
        let program = program_id(year);
        for i in 0..self.spec.counties {
            if late_roster(i, year) {
                self.county_year(year, i, true);
            }
        }
        // A voucher reported twice, and the duplicate reversed (early November).
        let year_index = (year - self.spec.first_year) as u32;
        let counties = self.spec.counties;
        for i in (0..counties).filter(|i| reverses(*i, year_index)) {
            let (code, actor) = (county_code(i), county_actor(i));
            let fen = self.allocated_fen[i as usize] / 100;
            let at = self.at(year, 11, 5);
            self.push(format!("{program}.spend.{code}.dup"), &actor, "expenditure_reported", at, json!({"program": program, "district_code": code, "amount_cny": Money::from_fen(fen).to_string(), "purpose": "重复报账"}));
            let at = self.at(year, 11, 6);
            self.push(format!("{program}.spend.{code}.dup.reversed"), &actor, "event_reversed", at, json!({"event_id": format!("{program}.spend.{code}.dup"), "reason": "同一凭证重复报账"}));
        }
        // On-time fund-use reports first, then the late ones (Dec 3): time only moves forward.
        for late in [false, true] {
            for i in (0..counties).filter(|i| ((i + year as u32) % 61 == 0) == late) {
                let iu = i as usize;
                let at = if late {
                    self.at(year, 12, 3)
                } else {
                    self.at(year, 11, 25)
                };
                let spent = Money::from_fen(self.spent_fen[iu]).to_string();
                self.push(format!("{program}.fund-use.{}", county_code(i)), &county_actor(i), "fund_use_reported", at, json!({"program": program, "district_code": county_code(i), "spent_cny": spent, "trainees_reported": 150}));
            }
        }
        for i in 0..self.spec.counties {
            let iu = i as usize;
            let at = self.at(year, 12, 20);
            self.surplus_fen[iu] = self.allocated_fen[iu] - self.spent_fen[iu];
            self.push(format!("{program}.settlement.{}", county_code(i)), &county_actor(i), "settlement_filed", at, json!({
                "program": program, "district_code": county_code(i),
                "allocated_cny": Money::from_fen(self.allocated_fen[iu]).to_string(), "spent_cny": Money::from_fen(self.spent_fen[iu]).to_string(),
                "surplus_cny": Money::from_fen(self.surplus_fen[iu]).to_string()}));
        }
        let at = self.at(year, 12, 26);
        self.push(format!("{program}.survey"), EVALUATOR, "survey_recorded", at, json!({
            "program": program, "survey": format!("satisfaction-{year}"), "title": "满意度调查", "respondents": 100,
            "options": [{"code": "A", "label": "非常满意", "points": 10}, {"code": "B", "label": "满意", "points": 9}, {"code": "C", "label": "一般", "points": 8}],
            "questions": [{"number": 1, "text": "总体评价", "counts": {"A": 70, "B": 25, "C": 5}}]}));
        let sampled: Vec<String> = (0..self.spec.counties.div_ceil(3))
            .map(|i| county_code(i * 3 % self.spec.counties.max(1)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let at = self.at(year, 12, 27);
        self.push(
            format!("{program}.spot-check"),
            AUDITOR,
            "spot_check_recorded",
            at,
            json!({"program": program, "districts_sampled": sampled, "findings": "抽查未发现问题"}),
        );
        for (code, score) in [("A1", "19.00"), ("C4", "18.00")] {
            let at = self.at(year, 12, 28);
            self.push(format!("{program}.score.{code}"), EVALUATOR, "indicator_scored", at, json!({"program": program, "indicator": code, "score": score, "rationale": "评价组评分"}));
        }
    }

    fn expand(&mut self) {
        // step 0: opening; then per year: 1 start, counties county-years, 1 end.
        let per_year = 2 + u64::from(self.spec.counties);
        if self.step == 0 {
            self.opening();
        } else {
            let k = self.step - 1;
            let year_index = k / per_year;
            if year_index >= u64::from(self.spec.years) {
                self.done = true;
                return;
            }
            let year = self.spec.first_year + year_index as i32;
            match k % per_year {
                0 => self.year_start(year),
                p if p == per_year - 1 => self.year_end(year),
                p => {
                    let county = (p - 1) as u32;
                    if !late_roster(county, year) {
                        self.county_year(year, county, false);
                    }
                }
            }
        }
        self.step += 1;
    }
}

/// Counties whose training ledger comes in late (after Oct 30) this year.
fn late_roster(county: u32, year: i32) -> bool {
    (county + year as u32) % 53 == 0
}

fn reverses(county: u32, year_index: u32) -> bool {
    (county * 31 + year_index * 7) % 97 == 0
}

impl Iterator for Workload {
    type Item = GeneratedEvent;
    fn next(&mut self) -> Option<GeneratedEvent> {
        while self.queue.is_empty() && !self.done {
            self.expand();
        }
        self.queue.pop_front()
    }
}
