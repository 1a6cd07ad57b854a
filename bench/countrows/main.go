// Command countrows prints `SELECT count(*) FROM requests` for an llmgate
// SQLite store, so the benchmark can check that the gateway logged one row per
// request without needing the sqlite3 CLI.
//
// Usage: countrows -db /path/to/llmgate.db [-table requests]
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	db := flag.String("db", "", "path to the SQLite database (required)")
	table := flag.String("table", "requests", "table to count")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "countrows: -db is required")
		os.Exit(2)
	}
	if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(*table) {
		fmt.Fprintln(os.Stderr, "countrows: bad table name")
		os.Exit(2)
	}
	if _, err := os.Stat(*db); err != nil {
		fmt.Fprintln(os.Stderr, "countrows:", err)
		os.Exit(1)
	}
	// Never create the file; wait for the gateway's writer if it holds a lock.
	dsn := "file:" + (&url.URL{Path: *db}).EscapedPath() + "?mode=rw&_busy_timeout=5000"
	conn, err := sql.Open("sqlite3", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "countrows:", err)
		os.Exit(1)
	}
	defer conn.Close()
	var n int64
	if err := conn.QueryRow("SELECT count(*) FROM " + *table).Scan(&n); err != nil {
		fmt.Fprintln(os.Stderr, "countrows:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}
