package deploy

// A small, provider-free reading of the Terraform configuration for the tests: parse every .tf
// file of a module with hcl/v2, evaluate variables (defaults), locals, resources (with
// for_each) and module arguments in an hcl.EvalContext, and give back cty values. Attributes
// the provider computes are unknown, except the few whose format is fixed (topic and secret
// ids, service account e-mails), which are synthesized so references resolve to names.

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// tfModule is one parsed Terraform module (the .tf files of one folder).
type tfModule struct {
	dir       string
	bodies    map[string]*hclsyntax.Body // by file name
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	resources []*hclsyntax.Block // labels: type, name
	modules   []*hclsyntax.Block // labels: name
	others    []*hclsyntax.Block // data, output, terraform, provider
}

// loadModule parses the .tf files in dir.
func loadModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	m := &tfModule{dir: dir, bodies: map[string]*hclsyntax.Body{}, variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{}}
	p := hclparse.NewParser()
	for _, f := range files {
		file, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", f, diags.Error())
		}
		body := file.Body.(*hclsyntax.Body)
		m.bodies[filepath.Base(f)] = body
		if len(body.Attributes) > 0 {
			t.Errorf("%s: top-level attributes are not Terraform", f)
		}
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				m.variables[b.Labels[0]] = b
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := m.locals[name]; dup {
						t.Errorf("local.%s defined twice", name)
					}
					m.locals[name] = a
				}
			case "resource":
				m.resources = append(m.resources, b)
			case "module":
				m.modules = append(m.modules, b)
			default:
				m.others = append(m.others, b)
			}
		}
	}
	return m
}

// resourcesOf returns the resource blocks of one type.
func (m *tfModule) resourcesOf(typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, r := range m.resources {
		if r.Labels[0] == typ {
			out = append(out, r)
		}
	}
	return out
}

// evaluator evaluates a module's expressions with given variable values.
type evaluator struct {
	m         *tfModule
	vars      map[string]cty.Value
	locals    map[string]cty.Value
	resources map[string]map[string]cty.Value // type -> name -> value
	// referenced lists, per resource type, the attributes the configuration reads from it,
	// so computed ones resolve to unknown values instead of errors.
	referenced map[string]map[string]bool
}

// newEvaluator evaluates m with the variables' defaults, overridden by given. A variable
// without a default and without a given value is a test failure.
func newEvaluator(t *testing.T, m *tfModule, given map[string]cty.Value) *evaluator {
	t.Helper()
	e := &evaluator{m: m, vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, resources: map[string]map[string]cty.Value{}, referenced: referencedAttrs(m)}
	for name, b := range m.variables {
		if v, ok := given[name]; ok {
			e.vars[name] = v
			continue
		}
		def, ok := b.Body.Attributes["default"]
		if !ok {
			t.Fatalf("variable %q has no default and the test gives no value for it", name)
		}
		v, diags := def.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("variable %q default: %s", name, diags.Error())
		}
		e.vars[name] = v
	}
	for name := range m.locals {
		e.locals[name] = cty.DynamicVal
	}
	// Locals and resources refer to each other; a few passes reach the fixed point.
	for range 5 {
		ctx := e.ctx()
		for name, a := range m.locals {
			e.locals[name] = value(a.Expr, ctx)
		}
		ctx = e.ctx()
		for _, r := range m.resources {
			typ, name := r.Labels[0], r.Labels[1]
			if e.resources[typ] == nil {
				e.resources[typ] = map[string]cty.Value{}
			}
			e.resources[typ][name] = e.resource(r, ctx)
		}
	}
	return e
}

// value evaluates expr, giving an unknown value where evaluation fails.
func value(expr hcl.Expression, ctx *hcl.EvalContext) cty.Value {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

func (e *evaluator) ctx() *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":       cty.ObjectVal(e.vars),
		"local":     cty.ObjectVal(e.locals),
		"path":      cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal("."), "root": cty.StringVal("."), "cwd": cty.StringVal(".")}),
		"data":      cty.DynamicVal,
		"module":    cty.DynamicVal,
		"terraform": cty.DynamicVal,
	}
	for typ, byName := range e.resources {
		vars[typ] = cty.ObjectVal(byName)
	}
	return &hcl.EvalContext{Variables: vars, Functions: tfFunctions(e.m.dir)}
}

// resource evaluates a resource block: one object, or an object of instances by for_each key.
func (e *evaluator) resource(b *hclsyntax.Block, ctx *hcl.EvalContext) cty.Value {
	fe, ok := b.Body.Attributes["for_each"]
	if !ok {
		return e.instance(b.Labels[0], b.Body, ctx)
	}
	each := value(fe.Expr, ctx)
	// Terraform needs the keys known, not the values (a set's elements are its keys).
	if each.IsNull() || !each.IsKnown() || (each.Type().IsSetType() && !each.IsWhollyKnown()) {
		return cty.DynamicVal
	}
	instances := map[string]cty.Value{}
	for key, val := range elements(each) {
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": val})}
		instances[key] = e.instance(b.Labels[0], b.Body, child)
	}
	return cty.ObjectVal(instances)
}

// elements returns the elements of a map, object or set of strings by key.
func elements(v cty.Value) map[string]cty.Value {
	out := map[string]cty.Value{}
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return out
	}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if v.Type().IsSetType() || v.Type().IsListType() || v.Type().IsTupleType() {
			k = val
		}
		if s, ok := str(k); ok {
			out[s] = val
		}
	}
	return out
}

// instance evaluates the attributes and nested blocks of one resource instance and adds the
// computed attributes whose format is known.
func (e *evaluator) instance(typ string, body *hclsyntax.Body, ctx *hcl.EvalContext) cty.Value {
	obj := evalBody(body, ctx)
	get := func(name string) string { s, _ := str(obj[name]); return s }
	project := get("project")
	set := func(name, v string) {
		if _, ok := obj[name]; !ok {
			obj[name] = cty.StringVal(v)
		}
	}
	switch typ {
	case "google_pubsub_topic", "google_pubsub_subscription":
		kind := strings.TrimPrefix(typ, "google_pubsub_") + "s"
		set("id", "projects/"+project+"/"+kind+"/"+get("name"))
	case "google_secret_manager_secret":
		set("id", "projects/"+project+"/secrets/"+get("secret_id"))
		set("name", "projects/"+project+"/secrets/"+get("secret_id"))
	case "google_service_account":
		email := get("account_id") + "@" + project + ".iam.gserviceaccount.com"
		set("email", email)
		set("member", "serviceAccount:"+email)
		set("id", "projects/"+project+"/serviceAccounts/"+email)
	}
	for name := range e.referenced[typ] {
		if _, ok := obj[name]; !ok {
			obj[name] = cty.DynamicVal
		}
	}
	if _, ok := obj["id"]; !ok {
		obj["id"] = cty.DynamicVal
	}
	return cty.ObjectVal(obj)
}

// evalBody evaluates a block body into attribute values; nested blocks become tuples of
// objects under their type, dynamic blocks unknown values.
func evalBody(body *hclsyntax.Body, ctx *hcl.EvalContext) map[string]cty.Value {
	obj := map[string]cty.Value{}
	for name, a := range body.Attributes {
		switch name {
		case "for_each", "count", "depends_on", "provider", "providers":
			continue
		}
		obj[name] = value(a.Expr, ctx)
	}
	blocks := map[string][]cty.Value{}
	for _, b := range body.Blocks {
		switch b.Type {
		case "lifecycle", "precondition", "postcondition", "provisioner", "connection":
			continue
		case "dynamic":
			obj[b.Labels[0]] = cty.DynamicVal
			continue
		}
		blocks[b.Type] = append(blocks[b.Type], cty.ObjectVal(evalBody(b.Body, ctx)))
	}
	for typ, list := range blocks {
		obj[typ] = cty.TupleVal(list)
	}
	return obj
}

// module evaluates the arguments of a module call.
func (e *evaluator) module(b *hclsyntax.Block) map[string]cty.Value {
	return evalBody(b.Body, e.ctx())
}

// str returns v as a string when it is known, not null and convertible.
func str(v cty.Value) (string, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return "", false
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false
	}
	return s.AsString(), true
}

// num returns v as an int when it is a known number.
func num(v cty.Value) (int, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return 0, false
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		return 0, false
	}
	i, _ := n.AsBigFloat().Int64()
	return int(i), true
}

// get returns the attribute or map element name of v, and whether it is there.
func get(v cty.Value, name string) (cty.Value, bool) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return cty.DynamicVal, false
	}
	switch t := v.Type(); {
	case t.IsObjectType():
		if t.HasAttribute(name) {
			return v.GetAttr(name), true
		}
	case t.IsMapType():
		if k := cty.StringVal(name); v.HasIndex(k).True() {
			return v.Index(k), true
		}
	}
	return cty.DynamicVal, false
}

// stringList returns the known string elements of a list, tuple or set, sorted ("<unknown>"
// for the unknown ones).
func stringList(v cty.Value) []string {
	var out []string
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if s, ok := str(e); ok {
			out = append(out, s)
		} else {
			out = append(out, "<unknown>")
		}
	}
	sort.Strings(out)
	return out
}

// keys returns the sorted keys of a map or object value.
func keys(v cty.Value) []string {
	var out []string
	for k := range elements(v) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tfFunctions is the subset of Terraform's functions the configuration uses.
func tfFunctions(dir string) map[string]function.Function {
	to := func(ty cty.Type) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true, AllowDynamicType: true}},
			Type:   func([]cty.Value) (cty.Type, error) { return cty.DynamicPseudoType, nil },
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return convert.Convert(args[0], ty)
			},
		})
	}
	strFn := func(f func(string) (string, error)) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "s", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				s, err := f(args[0].AsString())
				return cty.StringVal(s), err
			},
		})
	}
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	return map[string]function.Function{
		"merge": stdlib.MergeFunc, "concat": stdlib.ConcatFunc, "min": stdlib.MinFunc, "max": stdlib.MaxFunc,
		"keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc, "jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": stdlib.JSONDecodeFunc, "coalesce": stdlib.CoalesceFunc, "lookup": stdlib.LookupFunc,
		"format": stdlib.FormatFunc, "join": stdlib.JoinFunc, "split": stdlib.SplitFunc,
		"trimspace": stdlib.TrimSpaceFunc, "replace": stdlib.ReplaceFunc, "length": lengthFunc, "contains": stdlib.ContainsFunc,
		"sort": stdlib.SortFunc, "flatten": stdlib.FlattenFunc, "distinct": stdlib.DistinctFunc,
		"lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc, "floor": stdlib.FloorFunc, "regex": stdlib.RegexFunc,
		"startswith": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "prefix", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
			},
		}),
		"alltrue": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				for it := args[0].ElementIterator(); it.Next(); {
					if _, v := it.Element(); v.IsNull() || v.False() {
						return cty.False, nil
					}
				}
				return cty.True, nil
			},
		}),
		"tostring": to(cty.String), "tonumber": to(cty.Number), "tobool": to(cty.Bool),
		"toset": to(cty.Set(cty.DynamicPseudoType)), "tolist": to(cty.List(cty.DynamicPseudoType)),
		"tomap": to(cty.Map(cty.DynamicPseudoType)),
		"try":   tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"base64encode": strFn(func(s string) (string, error) { return base64.StdEncoding.EncodeToString([]byte(s)), nil }),
		"dirname":      strFn(func(s string) (string, error) { return path.Dir(s), nil }),
		"urlencode":    strFn(func(s string) (string, error) { return url.QueryEscape(s), nil }),
		"basename":     strFn(func(s string) (string, error) { return path.Base(s), nil }),
		"abspath":      strFn(func(s string) (string, error) { return filepath.Abs(resolve(s)) }),
		"file": strFn(func(s string) (string, error) {
			b, err := os.ReadFile(resolve(s))
			if err != nil {
				return "", fmt.Errorf("file: %w", err)
			}
			return string(b), nil
		}),
		"fileexists": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "p", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				_, err := os.Stat(resolve(args[0].AsString()))
				return cty.BoolVal(err == nil), nil
			},
		}),
	}
}

// traversalRoots returns "root.attr" for every variable reference in expr (e.g. "var.secret_files").
func traversalRoots(expr hcl.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		name := tr.RootName()
		if len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				name += "." + a.Name
			}
		}
		out = append(out, name)
	}
	return out
}

// stringLiterals calls fn for every string literal in body, outside variable blocks (whose
// validations may name what they reject).
func stringLiterals(body *hclsyntax.Body, fn func(s string, rng hcl.Range)) {
	for _, b := range body.Blocks {
		if b.Type == "variable" {
			continue
		}
		_ = hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && lit.Val.IsKnown() && !lit.Val.IsNull() {
				fn(lit.Val.AsString(), lit.SrcRange)
			}
			return nil
		})
	}
}

// referencedAttrs returns, per resource type of m, the attribute names that expressions read
// from its instances: type.name.attr, type.name[key].attr or type.name[expr].attr.
func referencedAttrs(m *tfModule) map[string]map[string]bool {
	types := map[string]bool{}
	for _, r := range m.resources {
		types[r.Labels[0]] = true
	}
	out := map[string]map[string]bool{}
	add := func(typ string, rest hcl.Traversal) {
		for _, step := range rest {
			if a, ok := step.(hcl.TraverseAttr); ok {
				if out[typ] == nil {
					out[typ] = map[string]bool{}
				}
				out[typ][a.Name] = true
				return
			}
		}
	}
	for _, body := range m.bodies {
		_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			switch x := n.(type) {
			case *hclsyntax.ScopeTraversalExpr:
				if len(x.Traversal) > 2 && types[x.Traversal.RootName()] {
					add(x.Traversal.RootName(), x.Traversal[2:])
				}
			case *hclsyntax.RelativeTraversalExpr:
				if ix, ok := x.Source.(*hclsyntax.IndexExpr); ok {
					if st, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 2 && types[st.Traversal.RootName()] {
						add(st.Traversal.RootName(), x.Traversal)
					}
				}
			}
			return nil
		})
	}
	return out
}

// lengthFunc is Terraform's length: characters of a string, elements of a collection.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowDynamicType: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})
