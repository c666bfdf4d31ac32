// Package docs holds failoverd's reference for operators, the *.md files in
// this directory, and the test that keeps it honest: every relative link in
// README.md and docs/*.md leads to a file (and heading) that exists, and
// docs/configuration.md names every block and attribute the configuration
// decoder accepts. It has no code of its own.
package docs
