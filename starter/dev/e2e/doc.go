// Package e2e holds end-to-end tests of the runbook library: each declares a
// real incident on the Temporal dev server, with the datasev worker talking
// through the real client libraries to the protocol stand-ins (GitHub,
// Airflow, a dbt manifest in the repository), and follows it through its
// runbook, approvals included. It has no code of its own.
package e2e
