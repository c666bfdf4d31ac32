package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/failoverd/failoverd/migrate"
)

// importExports is `failoverd import PRODUCT FILE...`: the exports become
// configuration text on stdout; unreadable input exits 1 with one
// `FILE: JSON-PATH: what is wrong` line per problem on stderr.
func importExports(args []string, stdout, stderr io.Writer) int {
	products := make([]string, 0, len(migrate.Importers))
	for p := range migrate.Importers {
		products = append(products, p)
	}
	slices.Sort(products)
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: failoverd import %s FILE...\n", strings.Join(products, "|"))
		return 2
	}
	imp, ok := migrate.Importers[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "failoverd import: unknown product %q; one of %s\n", args[0], strings.Join(products, ", "))
		return 2
	}
	if len(args) < 2 {
		fmt.Fprintf(stderr, "failoverd import %s: name at least one export file\n", args[0])
		return 2
	}
	var files []migrate.File
	failed := false
	for _, name := range args[1:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "%s: $: cannot read: %v\n", name, unwrapPath(err))
			failed = true
			continue
		}
		files = append(files, migrate.File{Name: name, Data: data})
	}
	if failed {
		return 1
	}
	out, err := imp(files)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "failoverd import: %v\n", err)
		return 1
	}
	return 0
}

// unwrapPath drops the file name an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
