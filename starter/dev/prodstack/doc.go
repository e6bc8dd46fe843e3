// Package prodstack runs datasev's production topology on one machine,
// without Docker, from the same parts docker-compose.yml deploys: a private
// PostgreSQL (Debian's package, as an unprivileged user), a real Temporal
// server (the release the compose file names, built from its Go module in
// starter/dev/cluster) with PostgreSQL persistence and SQL visibility,
// its frontend, history, matching and worker services each a process of
// their own, the schema installed and the namespace set up by the compose
// file's own job scripts, and datasev's worker and intake built with
// worker/Dockerfile's commands and run the way the image runs them (its
// user, a read-only working directory, a private tmp). Every process can be
// killed with SIGKILL and started again: the chaos run (go run ./starter/dev
// chaos) and the cluster tests are built on it. It is dev-only: no shipped
// binary imports it.
package prodstack
