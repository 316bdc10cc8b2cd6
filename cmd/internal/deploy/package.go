// Package deploy builds the upload folders of the Cloud Functions.
//
// Cloud Functions builds only the folder it is given: the repository's go.work is not there and
// each function's `replace supportsync.dev/shared => ../../shared` points outside it. So every
// function is uploaded with a vendor/ folder that holds shared/ and every other dependency,
// made with `GOWORK=off go mod vendor` in a staging copy of the repository where the replace
// resolves. The result builds alone, without network, with
// `GOWORK=off GOFLAGS=-mod=vendor go build ./...`.
//
// Package writes <out>/functions/<name>/, which Terraform's archive_file zips; the folder's
// content hash (Hash) names the uploaded object, so any change to the code or its dependencies
// redeploys the function and nothing else does. Terraform computes the same hash from the same
// files (terraform/modules/function/main.tf, local.source_hash).
package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// FrameworkPackage is the package the Go buildpack's generated main imports; it must be in
// each function's vendor/ (the function blank-imports it) or the cloud build fails.
const FrameworkPackage = "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

// frameworkModule is the module that provides FrameworkPackage.
const frameworkModule = "github.com/GoogleCloudPlatform/functions-framework-go"

// Result describes one packaged function.
type Result struct {
	// Dir is the upload folder, <out>/functions/<name>.
	Dir string
	// Hash is the hex SHA-256 content hash of Dir (see HashDir).
	Hash string
}

// Functions lists the functions of the repository: the folders under functions/ that hold a
// go.mod, sorted by name.
func Functions(repoRoot string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		return nil, fmt.Errorf("deploy.Functions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", e.Name(), "go.mod")); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Package builds the upload folder of one function into <outDir>/functions/<function> and
// returns it with its content hash. It copies functions/<function> (without tests, testdata,
// hidden files and any old vendor/) and the local modules its go.mod replaces into a staging
// copy of the repository layout, vendors there with GOWORK=off, checks that the framework
// package the buildpack needs was vendored, and replaces the previous output folder.
func Package(ctx context.Context, repoRoot, function, outDir string) (Result, error) {
	if function == "" || function != filepath.Base(function) || strings.HasPrefix(function, ".") {
		return Result{}, fmt.Errorf("deploy.Package: invalid function name %q", function)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	fnDir := filepath.Join(root, "functions", function)
	if _, err := os.Stat(filepath.Join(fnDir, "go.mod")); err != nil {
		return Result{}, fmt.Errorf("deploy.Package: functions/%s has no go.mod: %w", function, err)
	}

	mod, err := readModule(ctx, fnDir)
	if err != nil {
		return Result{}, fmt.Errorf("deploy.Package %s: %w", function, err)
	}
	if !mod.requires(frameworkModule) {
		return Result{}, fmt.Errorf("deploy.Package: functions/%s/go.mod does not require %s; the Cloud Functions buildpack needs it vendored: blank-import %q in the function package and run go mod tidy", function, frameworkModule, FrameworkPackage)
	}

	staging, err := os.MkdirTemp("", "supportsync-package-")
	if err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	defer os.RemoveAll(staging)

	stagedFn := filepath.Join(staging, "functions", function)
	if err := copyTree(fnDir, stagedFn, sourceFilter); err != nil {
		return Result{}, fmt.Errorf("deploy.Package %s: %w", function, err)
	}
	for _, r := range mod.Replace {
		if r.New.Version != "" || !isLocalPath(r.New.Path) {
			continue // a module version from the proxy: go mod vendor fetches it
		}
		target := r.New.Path
		if !filepath.IsAbs(target) {
			target = filepath.Join(fnDir, target)
		}
		rel, err := filepath.Rel(root, target)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return Result{}, fmt.Errorf("deploy.Package: functions/%s replaces %s with %s, outside the repository", function, r.Old.Path, r.New.Path)
		}
		if err := copyTree(target, filepath.Join(staging, rel), sourceFilter); err != nil {
			return Result{}, fmt.Errorf("deploy.Package %s: replacement %s: %w", function, r.Old.Path, err)
		}
	}

	if err := goCmd(ctx, stagedFn, "mod", "vendor"); err != nil {
		if strings.Contains(err.Error(), "missing go.sum entry") || strings.Contains(err.Error(), "updates to go.mod needed") {
			return Result{}, fmt.Errorf("deploy.Package %s: go.mod/go.sum are not tidy for a build outside the workspace; run `GOWORK=off go mod tidy` in functions/%s: %w", function, function, err)
		}
		return Result{}, fmt.Errorf("deploy.Package %s: %w", function, err)
	}
	if err := checkVendored(stagedFn, FrameworkPackage); err != nil {
		return Result{}, fmt.Errorf("deploy.Package: functions/%s: %w", function, err)
	}

	// Replace the output folder: build beside it, then swap.
	parent := filepath.Join(outDir, "functions")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+function+"-")
	if err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(stagedFn, tmp, func(string, fs.DirEntry) bool { return true }); err != nil {
		return Result{}, fmt.Errorf("deploy.Package %s: %w", function, err)
	}
	dest := filepath.Join(parent, function)
	if err := os.RemoveAll(dest); err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return Result{}, fmt.Errorf("deploy.Package: %w", err)
	}
	hash, err := HashDir(dest)
	if err != nil {
		return Result{}, fmt.Errorf("deploy.Package %s: %w", function, err)
	}
	return Result{Dir: dest, Hash: hash}, nil
}

// HashDir returns the content hash of the regular files under dir: the hex SHA-256 of the
// lines "<slash-separated relative path> <hex SHA-256 of the file>", sorted by path and joined
// by "\n". Terraform computes the same value with
// sha256(join("\n", [for f in sort(fileset(dir, "**")) : "${f} ${filesha256("${dir}/${f}")}"])).
func HashDir(dir string) (string, error) {
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return err
		}
		sums[filepath.ToSlash(rel)] = sum
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("deploy.HashDir: %w", err)
	}
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	lines := make([]string, len(paths))
	for i, p := range paths {
		lines[i] = p + " " + sums[p]
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:]), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// module is the part of `go mod edit -json` that Package uses.
type module struct {
	Require []struct {
		Path     string
		Indirect bool
	}
	Replace []struct {
		Old struct{ Path string }
		New struct{ Path, Version string }
	}
}

func (m module) requires(path string) bool {
	for _, r := range m.Require {
		if r.Path == path {
			return true
		}
	}
	return false
}

func readModule(ctx context.Context, dir string) (module, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "edit", "-json")
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return module{}, fmt.Errorf("go mod edit -json: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var m module
	if err := json.Unmarshal(out, &m); err != nil {
		return module{}, fmt.Errorf("go mod edit -json: %w", err)
	}
	return m, nil
}

// goCmd runs the go command in dir outside workspace mode.
func goCmd(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// goEnv is the environment for go commands on one function module: workspace mode off (the
// function's go.mod with its replace lines is what the cloud build sees) and no -mod flag
// inherited from GOFLAGS (go mod vendor rejects -mod=vendor).
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "GOWORK="):
			continue
		case strings.HasPrefix(kv, "GOFLAGS="):
			var keep []string
			for _, f := range strings.Fields(strings.TrimPrefix(kv, "GOFLAGS=")) {
				if !strings.HasPrefix(f, "-mod=") {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off")
}

// checkVendored reports an error unless vendor/modules.txt in dir lists pkg.
func checkVendored(dir, pkg string) error {
	data, err := os.ReadFile(filepath.Join(dir, "vendor", "modules.txt"))
	if err != nil {
		return fmt.Errorf("vendor/modules.txt: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) == pkg {
			return nil
		}
	}
	return fmt.Errorf("vendor/ lacks %s, which the Cloud Functions buildpack needs: blank-import it in the function package (import _ %q) and run go mod tidy", pkg, pkg)
}

func isLocalPath(p string) bool {
	return filepath.IsAbs(p) || p == "." || p == ".." ||
		strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") ||
		strings.HasPrefix(p, `.\`) || strings.HasPrefix(p, `..\`)
}

// sourceFilter keeps what a module needs to build: no hidden files, tests, testdata, an old
// vendor/ or a nested module's build output.
func sourceFilter(rel string, d fs.DirEntry) bool {
	name := d.Name()
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return false
	}
	if d.IsDir() {
		return rel != "vendor" && name != "testdata"
	}
	return !strings.HasSuffix(name, "_test.go")
}

// copyTree copies the regular files and folders under src that keep accepts (rel is the
// slash-separated path below src) into dst. Symbolic links are an error: the upload must not
// depend on what they point to.
func copyTree(src, dst string, keep func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if !keep(filepath.ToSlash(rel), d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return fmt.Errorf("%s: not a regular file or folder", path)
		}
	})
}

func copyFile(src, dst string) (err error) {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// errNoRoot is returned by FindRepoRoot when no go.work is found.
var errNoRoot = errors.New("no go.work found in this folder or any parent")

// FindRepoRoot returns the nearest folder at or above dir that holds go.work.
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("deploy.FindRepoRoot: %w", errNoRoot)
		}
		dir = parent
	}
}
