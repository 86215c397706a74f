#include "CourierSQLiteOptions.h"
#include "sqlite_nio_sqlite3.h"

int courier_sqlite_enable_stable_plans(void *db) {
    int enabled = 0;
    int status = sqlite_nio_sqlite3_db_config((sqlite3 *)db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, &enabled);
    if (status == SQLITE_OK && enabled != 1) return SQLITE_ERROR;
    return status;
}
