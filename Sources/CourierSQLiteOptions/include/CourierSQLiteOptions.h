#ifndef COURIER_SQLITE_OPTIONS_H
#define COURIER_SQLITE_OPTIONS_H

/// Turns on SQLite's query planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG) for the
/// connection `db` (a `sqlite3 *` of SQLiteNIO's library). Returns SQLite's result code.
///
/// Without it SQLite marks a prepared statement expired whenever a value is bound to a parameter
/// that may change its plan (`LIMIT ?` among them), and re-prepares it on the next step: a kept
/// statement is then compiled again on every run. `sqlite3_db_config` is a variadic C function,
/// which Swift cannot call; this is its one use here.
int courier_sqlite_enable_stable_plans(void *db);

#endif
