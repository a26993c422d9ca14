//! The tables of docs/access.md, copied by hand, row by row and in the same
//! order: the expectations of `access.rs`. Nothing here is derived from the
//! policy module, so a wrong rule in the code fails a cell. When a rule
//! changes, change docs/access.md and this copy together.

/// The answer of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; a read shows the object on every path.
    Yes,
    /// `NOT_FOUND`: hidden, as if it did not exist.
    No,
    /// `FORBIDDEN`: visible, but not this.
    Forbidden,
}

use Outcome::{Forbidden as F, No as N, Yes as Y};

/// The columns, in the order of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    Admin,
    Hr,
    /// MANAGER of department A, which holds team A1.
    ManagerOfA,
    /// MANAGER of department B, another subtree.
    ManagerOfB,
    /// A MEMBER of team A1 who owns nothing.
    MemberOfA1,
    /// A MEMBER of team B1.
    MemberOfB1,
    /// The MEMBER of team A1 who owns the objects.
    Owner,
    /// Only the VIEWER role, in team A1.
    Viewer,
    OkrRead,
    /// `kpi:write` feeding every KPI of the tenant.
    KpiWrite,
    /// `kpi:write` given one KPI to feed: the OPERATIONAL KPI.
    KpiWriteOfKpi,
    DirectoryWrite,
}

pub const COLUMNS: [Who; 12] = [
    Who::Admin,
    Who::Hr,
    Who::ManagerOfA,
    Who::ManagerOfB,
    Who::MemberOfA1,
    Who::MemberOfB1,
    Who::Owner,
    Who::Viewer,
    Who::OkrRead,
    Who::KpiWrite,
    Who::KpiWriteOfKpi,
    Who::DirectoryWrite,
];

/// The object of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    Organization,
    Units,
    People,
    Periods,
    /// Owned by the owner, with a key result they own and a check-in.
    PublicObjective,
    UnitObjective,
    PrivateObjective,
    /// Owned by team A1, UNIT visibility; its key result is the owner's.
    TeamObjective,
    /// OPERATIONAL, of team A1, owned by the owner.
    Kpi,
    PeopleKpi,
    /// Team A1, for the subscriptions by `unitId`.
    UnitA1,
    Integrations,
}

/// The action of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    Read,
    Subscribe,
    Create,
    Edit,
    Move,
    Delete,
    /// `syncDirectory`.
    Sync,
    ChangeRoles,
    /// `transferOwnership` of what a person owns.
    Transfer,
    Close,
    Transition,
    Reparent,
    AddKeyResult,
    EditKeyResult,
    CheckIn,
    LinkKeyResultToKpi,
    PromoteKeyResultToKpi,
    RecordMeasurement,
    ObjectiveFromKpi,
    Revoke,
}

pub struct Row {
    pub object: Object,
    pub act: Act,
    /// In the order of [`COLUMNS`].
    pub cells: [Outcome; 12],
}

const fn row(object: Object, act: Act, cells: [Outcome; 12]) -> Row {
    Row { object, act, cells }
}

use Act::*;
use Object::*;

#[rustfmt::skip]
pub static TABLE: [Row; 72] = [
    // Reading.                      AD HR MA MB M1 MX OW VI okr kpi kpi1 dir
    row(Organization,     Read,      [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    row(Units,            Read,      [Y, Y, Y, Y, Y, Y, Y, Y, N, N, N, Y]),
    row(People,           Read,      [Y, Y, Y, Y, Y, Y, Y, Y, N, N, N, Y]),
    row(Periods,          Read,      [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, N]),
    row(PublicObjective,  Read,      [Y, Y, Y, Y, Y, Y, Y, Y, Y, N, N, N]),
    row(UnitObjective,    Read,      [Y, Y, Y, N, Y, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Read,      [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Read,      [Y, Y, Y, N, Y, N, Y, N, N, N, N, N]),
    row(Kpi,              Read,      [Y, Y, Y, Y, Y, Y, Y, Y, N, Y, Y, N]),
    row(PeopleKpi,        Read,      [Y, Y, Y, N, N, N, N, N, N, Y, N, N]),
    row(Integrations,     Read,      [Y, N, N, N, N, N, N, N, N, N, N, N]),
    // Subscribing.                  AD HR MA MB M1 MX OW VI okr kpi kpi1 dir
    row(PublicObjective,  Subscribe, [Y, Y, Y, Y, Y, Y, Y, Y, Y, N, N, N]),
    row(UnitObjective,    Subscribe, [Y, Y, Y, N, Y, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Subscribe, [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Subscribe, [Y, Y, Y, N, Y, N, Y, N, N, N, N, N]),
    row(Kpi,              Subscribe, [Y, Y, Y, Y, Y, Y, Y, Y, N, Y, Y, N]),
    row(PeopleKpi,        Subscribe, [Y, Y, Y, N, N, N, N, N, N, Y, N, N]),
    row(Periods,          Subscribe, [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, N]),
    row(UnitA1,           Subscribe, [Y, Y, Y, Y, Y, Y, Y, Y, N, N, N, Y]),
    // Changing.                     AD HR MA MB M1 MX OW VI okr kpi kpi1 dir
    row(Organization,     Edit,        [Y, F, F, F, F, F, F, F, F, F, F, F]),
    row(Units,            Create,      [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(Units,            Edit,        [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(Units,            Move,        [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(Units,            Delete,      [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(Units,            Sync,        [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(People,           Create,      [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(People,           Edit,        [Y, Y, F, F, F, F, F, F, N, N, N, Y]),
    row(People,           ChangeRoles, [Y, F, F, F, F, F, F, F, N, N, N, F]),
    row(People,           Transfer,    [Y, Y, F, F, F, F, F, F, N, N, N, N]),
    row(Periods,          Create,      [Y, Y, F, F, F, F, F, F, F, F, F, N]),
    row(Periods,          Edit,        [Y, Y, F, F, F, F, F, F, F, F, F, N]),
    row(Periods,          Close,       [Y, Y, F, F, F, F, F, F, F, F, F, N]),
    row(PublicObjective,  Create,      [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    Create,      [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Create,      [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Create,      [Y, Y, Y, N, F, N, F, N, N, N, N, N]),
    row(PublicObjective,  Edit,        [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    Edit,        [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Edit,        [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Edit,        [Y, Y, Y, N, F, N, F, N, N, N, N, N]),
    row(PublicObjective,  Transition,  [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    Transition,  [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Transition,  [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Transition,  [Y, Y, Y, N, F, N, F, N, N, N, N, N]),
    row(PublicObjective,  Reparent,    [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    Reparent,    [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, Reparent,    [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    Reparent,    [Y, Y, Y, N, F, N, F, N, N, N, N, N]),
    row(PublicObjective,  AddKeyResult,  [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    AddKeyResult,  [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, AddKeyResult,  [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    AddKeyResult,  [Y, Y, Y, N, F, N, F, N, N, N, N, N]),
    row(PublicObjective,  EditKeyResult, [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    EditKeyResult, [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, EditKeyResult, [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    EditKeyResult, [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PublicObjective,  CheckIn,     [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(UnitObjective,    CheckIn,     [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PrivateObjective, CheckIn,     [Y, Y, Y, N, N, N, Y, N, N, N, N, N]),
    row(TeamObjective,    CheckIn,     [Y, Y, Y, N, F, N, Y, N, N, N, N, N]),
    row(PublicObjective,  LinkKeyResultToKpi,    [Y, Y, Y, F, F, F, Y, F, F, N, N, N]),
    row(PublicObjective,  PromoteKeyResultToKpi, [Y, Y, Y, F, F, F, Y, F, N, N, N, N]),
    row(Kpi,              Create,            [Y, Y, Y, F, F, F, Y, F, N, F, N, N]),
    row(PeopleKpi,        Create,            [Y, Y, Y, N, N, N, N, N, N, F, N, N]),
    row(Kpi,              Edit,              [Y, Y, Y, F, F, F, Y, F, N, F, F, N]),
    row(PeopleKpi,        Edit,              [Y, Y, Y, N, N, N, N, N, N, F, N, N]),
    row(Kpi,              RecordMeasurement, [Y, Y, Y, F, F, F, Y, F, N, Y, Y, N]),
    row(PeopleKpi,        RecordMeasurement, [Y, Y, Y, N, N, N, N, N, N, Y, N, N]),
    row(Kpi,              ObjectiveFromKpi,  [Y, Y, Y, F, F, F, F, F, N, N, N, N]),
    row(PeopleKpi,        ObjectiveFromKpi,  [Y, Y, Y, N, N, N, N, N, N, N, N, N]),
    row(Integrations,     Create,      [Y, N, N, N, N, N, N, N, N, N, N, N]),
    row(Integrations,     Revoke,      [Y, N, N, N, N, N, N, N, N, N, N, N]),
];

/// The outcome the table gives `who` for (`object`, `act`).
#[track_caller]
pub fn expected(object: Object, act: Act, who: Who) -> Outcome {
    let row = TABLE
        .iter()
        .find(|r| r.object == object && r.act == act)
        .unwrap_or_else(|| panic!("no row ({object:?}, {act:?}) in the access table"));
    let column = COLUMNS.iter().position(|c| *c == who).expect("every actor is a column");
    row.cells[column]
}
