//! List views: the "All …" view each object Setup would list, with its columns and
//! order, and its results read through the caller's own SOQL query (so permissions
//! and recycled records are handled as for any query).

use latchkey_core::ids;
use latchkey_core::records::{Field, ObjectKind, OrgSchema};

use super::{Caller, QueryPage, RestError};
use crate::Services;

/// Rows a results page returns unless the client asks for another number.
pub const DEFAULT_RESULTS: u64 = 25;
/// Most rows a results page returns.
pub const MAX_RESULTS: u64 = 2000;

/// One list view of an object.
#[derive(Debug, Clone)]
pub struct ListView {
    /// Its id (`00B…`).
    pub id: String,
    /// `AllAccounts`.
    pub developer_name: String,
    /// `All Accounts`.
    pub label: String,
    /// The object.
    pub kind: ObjectKind,
    /// The columns, in order (the first is the sort key), then `Id`.
    pub columns: Vec<Field>,
}

impl ListView {
    /// The SOQL query the view stands for.
    pub fn soql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|f| f.name.as_str()).collect();
        format!(
            "SELECT {} FROM {} ORDER BY {} ASC NULLS FIRST, Id ASC NULLS FIRST",
            names.join(", "),
            self.kind,
            names[0]
        )
    }
}

/// The columns of an object's "All" view, or none when the object has no list views.
fn column_names(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::Account => &["Name", "BillingCity", "Phone", "Industry"],
        ObjectKind::Contact => &["Name", "Title", "Phone", "Email"],
        ObjectKind::Lead => &["Name", "Company", "Status", "Email"],
        ObjectKind::Opportunity => &["Name", "StageName", "CloseDate", "Amount"],
        ObjectKind::User => &["Name", "Username", "Email", "IsActive"],
        ObjectKind::Profile => &["Name", "UserType"],
        ObjectKind::Organization | ObjectKind::LoginHistory | ObjectKind::UserLogin => &[],
    }
}

/// The list views of `kind` in `schema`.
pub fn list_views(schema: &OrgSchema, kind: ObjectKind) -> Vec<ListView> {
    let def = schema.object(kind);
    let names = column_names(kind);
    if names.is_empty() {
        return Vec::new();
    }
    let index = ObjectKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) + 1;
    let Ok(id) = ids::canonical(&format!("00B8L0{index:09}")) else {
        return Vec::new();
    };
    let columns = names
        .iter()
        .chain(&["Id"])
        .filter_map(|n| def.field(n).cloned())
        .collect();
    vec![ListView {
        id,
        developer_name: format!("All{}", kind.label_plural().replace(' ', "")),
        label: format!("All {}", kind.label_plural()),
        kind,
        columns,
    }]
}

impl Services {
    /// The list views of `kind` the caller may read.
    pub async fn list_views(&self, caller: &Caller, kind: ObjectKind) -> Result<Vec<ListView>, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        Ok(list_views(&schema, kind))
    }

    /// The list view `id` of `kind` (15 or 18 characters).
    pub async fn list_view(&self, caller: &Caller, kind: ObjectKind, id: &str) -> Result<ListView, RestError> {
        let wanted = ids::canonical(id).map_err(|_| RestError::UnknownObject(id.to_owned()))?;
        self.list_views(caller, kind)
            .await?
            .into_iter()
            .find(|v| v.id == wanted)
            .ok_or_else(|| RestError::UnknownObject(id.to_owned()))
    }

    /// Rows `[offset, offset + limit)` of a list view, read as the caller's query,
    /// and whether more rows follow them.
    pub async fn list_view_results(
        &self,
        caller: &Caller,
        view: &ListView,
        limit: u64,
        offset: u64,
    ) -> Result<(QueryPage, bool), RestError> {
        let limit = limit.clamp(1, MAX_RESULTS);
        let text = format!("{} LIMIT {} OFFSET {offset}", view.soql(), limit + 1);
        let mut page = self.query(caller, &text, false, MAX_RESULTS).await?;
        let more = page.total > limit;
        page.rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((page, more))
    }
}
