package dnsserver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A zone that cannot load says where: the master file's line, or the
// inline record and rdata element at fault.
func TestLoadZone_ErrorsSayWhere(t *testing.T) {
	file := filepath.Join(t.TempDir(), "example.com.zone")
	if err := os.WriteFile(file, []byte("www 60 IN A 192.0.2.1\nbad 60 IN A not-an-ip\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadZone(ZoneConfig{Origin: "example.com.", File: file})
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != file || fe.Line != 2 || fe.Column < 1 {
		t.Errorf("master file error: %#v (%v)", fe, err)
	}

	for _, tc := range []struct {
		name          string
		rec           StaticRecord
		record, rdata int
	}{
		{"bad second rdata", StaticRecord{Name: "a.example.com.", Type: "A", RData: []string{"192.0.2.1", "not-an-ip"}}, 1, 1},
		{"unknown type", StaticRecord{Name: "a.example.com.", Type: "NOPE", RData: []string{"x"}}, 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := StaticRecord{Name: "b.example.com.", Type: "A", RData: []string{"192.0.2.2"}}
			_, err := LoadZone(ZoneConfig{Origin: "example.com.", Records: []StaticRecord{good, tc.rec}})
			var re *RecordError
			if !errors.As(err, &re) || re.Record != tc.record || re.RData != tc.rdata {
				t.Errorf("record error: %#v (%v)", re, err)
			}
		})
	}
}
