package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot returns the repository root (the folder with go.work) above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildAlone copies dir to a fresh folder outside the repository (with no shared/ beside it)
// and builds it the way the cloud build does: vendor only, no workspace, no network.
func buildAlone(t *testing.T, dir string) {
	t.Helper()
	alone := filepath.Join(t.TempDir(), "upload")
	if err := copyTree(dir, alone, func(string, os.DirEntry) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(alone), "shared")); err == nil {
		t.Fatal("shared/ beside the copy: the build would not prove anything")
	}
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = alone
		cmd.Env = append(goEnv(), "GOFLAGS=-mod=vendor", "GOPROXY=off", "GONOSUMDB=*", "GOSUMDB=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOWORK=off GOFLAGS=-mod=vendor go %s in a copy of %s outside the repository: %v\n%s",
				strings.Join(args, " "), dir, err, out)
		}
	}
}

// registration matches how a function registers itself in init().
var registration = regexp.MustCompile(`functions\.(CloudEvent|HTTP|Typed)\(\s*"([A-Za-z_][A-Za-z0-9_]*)"`)

// registeredEntryPoints returns the names functions/<name> registers (non-test files of the
// package root) and whether it has any Go file at all.
func registeredEntryPoints(t *testing.T, fnDir string) (names []string, hasGo bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fnDir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		hasGo = true
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range registration.FindAllStringSubmatch(string(data), -1) {
			names = append(names, m[2])
		}
	}
	return names, hasGo
}

// TestPackageRealFunctions packages every function in functions/ and builds each upload
// folder alone, outside the repository.
func TestPackageRealFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("vendors and builds every function")
	}
	root := repoRoot(t)
	fns, err := Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no functions under functions/")
	}
	out := t.TempDir()
	for _, fn := range fns {
		t.Run(fn, func(t *testing.T) {
			if _, hasGo := registeredEntryPoints(t, filepath.Join(root, "functions", fn)); !hasGo {
				t.Skipf("functions/%s has no Go files yet (module skeleton)", fn)
			}
			res, err := Package(context.Background(), root, fn, out)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(out, "functions", fn); res.Dir != want {
				t.Errorf("Dir = %s, want %s", res.Dir, want)
			}
			for _, p := range []string{"go.mod", "vendor/modules.txt", "vendor/supportsync.dev/shared", "vendor/github.com/GoogleCloudPlatform/functions-framework-go/funcframework"} {
				if _, err := os.Stat(filepath.Join(res.Dir, p)); err != nil {
					t.Errorf("upload folder lacks %s: %v", p, err)
				}
			}
			buildAlone(t, res.Dir)
		})
	}
}

// writeFiles writes files (slash paths relative to root) with their contents.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// throwawayRepo lays out a tiny repository like ours: go.work, shared/ with one package and a
// go:embed file, and functions/hello that uses it and registers Hello. withFramework controls
// whether hello imports the functions framework.
func throwawayRepo(t *testing.T, withFramework bool) string {
	t.Helper()
	root := t.TempDir()
	imports := `"supportsync.dev/shared/greet"`
	register := `func init() { _ = greet.Hello() }`
	if withFramework {
		imports = `"context"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"supportsync.dev/shared/greet"`
		register = `func init() { functions.CloudEvent("Hello", hello) }

func hello(ctx context.Context, e event.Event) error { _ = greet.Hello(); return nil }`
	}
	writeFiles(t, root, map[string]string{
		"go.work":                        "go 1.26.0\n\nuse (\n\t./shared\n\t./functions/hello\n)\n",
		"shared/go.mod":                  "module supportsync.dev/shared\n\ngo 1.26.0\n",
		"shared/greet/greet.go":          "// Package greet greets.\npackage greet\n\nimport _ \"embed\"\n\n//go:embed hello.txt\nvar hello string\n\n// Hello greets.\nfunc Hello() string { return hello }\n",
		"shared/greet/hello.txt":         "hello\n",
		"shared/greet/greet_test.go":     "package greet\n",
		"functions/hello/go.mod":         "module supportsync.dev/functions/hello\n\ngo 1.26.0\n\nrequire supportsync.dev/shared v0.0.0\n\nreplace supportsync.dev/shared => ../../shared\n",
		"functions/hello/hello.go":       "// Package hello is a throwaway function.\npackage hello\n\nimport (\n\t" + imports + "\n)\n\n" + register + "\n",
		"functions/hello/hello_test.go":  "package hello\n",
		"functions/hello/.hidden":        "not uploaded\n",
		"functions/hello/vendor/old.txt": "stale vendor, replaced\n",
		"functions/README.md":            "not a function\n",
	})
	// Complete go.mod/go.sum the way a developer would (module cache, else the proxy).
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = filepath.Join(root, "functions", "hello")
	cmd.Env = append(goEnv(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in the throwaway function: %v\n%s", err, out)
	}
	return root
}

// TestPackageThrowaway proves Package on a throwaway repository: the upload folder carries
// shared/ in vendor/, builds alone, leaves out tests and hidden files, and its hash is stable
// and follows the code.
func TestPackageThrowaway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy / vendor / build")
	}
	root := throwawayRepo(t, true)
	fns, err := Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 || fns[0] != "hello" {
		t.Fatalf("Functions = %v, want [hello]", fns)
	}
	names, _ := registeredEntryPoints(t, filepath.Join(root, "functions", "hello"))
	if len(names) != 1 || names[0] != "Hello" {
		t.Errorf("registered entry points = %v, want [Hello]", names)
	}

	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "dist")
	res, err := Package(ctx, root, "hello", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"go.mod", "go.sum", "hello.go", "vendor/modules.txt", "vendor/supportsync.dev/shared/greet/greet.go", "vendor/supportsync.dev/shared/greet/hello.txt"} {
		if _, err := os.Stat(filepath.Join(res.Dir, p)); err != nil {
			t.Errorf("upload folder lacks %s: %v", p, err)
		}
	}
	for _, p := range []string{"hello_test.go", ".hidden", "vendor/old.txt", "vendor/supportsync.dev/shared/greet/greet_test.go"} {
		if _, err := os.Stat(filepath.Join(res.Dir, p)); err == nil {
			t.Errorf("upload folder has %s", p)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(out, "functions"))
	if len(entries) != 1 {
		t.Errorf("%s holds %d entries, want only hello/", filepath.Join(out, "functions"), len(entries))
	}
	buildAlone(t, res.Dir)

	if h, err := HashDir(res.Dir); err != nil || h != res.Hash {
		t.Errorf("HashDir = %s, %v; Package said %s", h, err, res.Hash)
	}
	again, err := Package(ctx, root, "hello", out)
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != res.Hash {
		t.Errorf("repackaging unchanged code changed the hash: %s -> %s", res.Hash, again.Hash)
	}
	writeFiles(t, root, map[string]string{"shared/greet/hello.txt": "bonjour\n"})
	changed, err := Package(ctx, root, "hello", out)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Hash == res.Hash {
		t.Error("a change in shared/ did not change the hash")
	}
}

// TestPackageNeedsFramework checks that a function without the functions framework is refused
// with a message that says what to do.
func TestPackageNeedsFramework(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy")
	}
	root := throwawayRepo(t, false)
	_, err := Package(context.Background(), root, "hello", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), FrameworkPackage) || !strings.Contains(err.Error(), "blank-import") {
		t.Fatalf("Package without the framework: err = %v, want one naming %s and the blank import", err, FrameworkPackage)
	}
}

func TestPackageRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "../shared", "a/b", ".hidden"} {
		if _, err := Package(context.Background(), t.TempDir(), name, t.TempDir()); err == nil {
			t.Errorf("Package(%q) succeeded", name)
		}
	}
}

// TestHashDirMatchesTerraform checks that HashDir computes what the Terraform module computes
// for the object name (local.source_hash), using terraform console.
func TestHashDirMatchesTerraform(t *testing.T) {
	tf := terraformBinary(t)
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "src"), map[string]string{
		"go.mod": "module x\n", "a.go": "package a\n", "a.go.txt": "x", "vendor/modules.txt": "# m\n", "vendor/b/b.go": "package b\n",
	})
	want, err := HashDir(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tf, "console")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(`sha256(join("\n", [for f in sort(fileset("src", "**")) : "${f} ${filesha256("src/${f}")}"]))` + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("terraform console: %v", err)
	}
	if got := strings.Trim(strings.TrimSpace(string(out)), `"`); got != want {
		t.Errorf("terraform hash %s, HashDir %s", got, want)
	}
}

// terraformBinary returns the terraform binary; without one the test is skipped, except in CI
// (CI=true), where terraform is installed and its absence is a failure.
func terraformBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("terraform binary not found, and CI=true: install terraform (>= 1.5) in .ci/run")
		}
		t.Skip("terraform binary not found")
	}
	return p
}
