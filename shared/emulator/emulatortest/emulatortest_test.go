package emulatortest_test

import (
	"context"
	"os"
	"regexp"
	"testing"

	"supportsync.dev/shared/emulator/emulatortest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestProjectIDIsUniqueAndValid(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	seen := map[string]bool{}
	for range 3 {
		t.Run("Sub/Test With_Odd.Chars", func(t *testing.T) {
			id := emulatortest.ProjectID(t)
			if !valid.MatchString(id) {
				t.Errorf("ProjectID = %q, not a valid project id", id)
			}
			if seen[id] {
				t.Errorf("ProjectID %q returned twice", id)
			}
			seen[id] = true
		})
	}
}

func TestFirestoreClientAndReset(t *testing.T) {
	host := emulatortest.Firestore(t)
	if got := os.Getenv(emulatortest.FirestoreHostEnv); got != host {
		t.Errorf("%s = %q, want %q", emulatortest.FirestoreHostEnv, got, host)
	}
	ctx := context.Background()
	a, b := emulatortest.FirestoreClient(t), emulatortest.FirestoreClient(t)
	if _, err := a.Doc("things/one").Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Doc("things/one").Get(ctx); err == nil {
		t.Error("a document written under one ProjectID is visible under another")
	}
	emulatortest.Reset(t, host, projectOf(t, a.Doc("things/one").Path))
	if _, err := a.Doc("things/one").Get(ctx); err == nil {
		t.Error("document still there after Reset")
	}
}

// projectOf extracts P from "projects/P/databases/(default)/documents/…".
func projectOf(t *testing.T, path string) string {
	t.Helper()
	m := regexp.MustCompile(`^projects/([^/]+)/`).FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("unexpected document path %q", path)
	}
	return m[1]
}
