package sheets_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"supportsync.dev/shared/fakeapi"
	"supportsync.dev/shared/sheets"
	"supportsync.dev/shared/sheets/sheetsfake"
	"supportsync.dev/shared/table"
)

// person plays the people who work in the sheet while the Sink writes: before the n-th request
// of the next Sink call it sorts, shuffles, inserts or deletes rows, as the owner (whom
// protection does not stop) or as an editor (whom it does); it may also make that request
// apply and then answer 500.
type person struct {
	t    *testing.T
	srv  *sheetsfake.Server
	tab  string
	mu   sync.Mutex
	base int64 // the fake's request count when the call started
	at   int64 // fire before the at-th request of the call (from 1); 0 = never
	act  func(n int64) error
	// fault makes the at-th request apply and then answer 500 instead of editing, or with
	// refuse, answer 503 without applying it.
	fault, refuse bool
	fired         bool
	err           error
}

func (p *person) arm(at int64, fault bool, act func(n int64) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.at, p.act, p.fault, p.fired, p.err = p.srv.Requests(""), at, act, fault, false, nil
}

func (p *person) hook(c sheetsfake.Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fired || p.at == 0 || c.N-p.base != p.at {
		return
	}
	p.fired = true
	if p.fault {
		switch {
		case p.refuse:
			p.srv.Inject(fakeapi.Fault{Code: 503})
		case c.Write:
			p.srv.Inject(fakeapi.Fault{Answer: fakeapi.AfterApply, Code: 500})
		}
		return
	}
	p.err = p.act(c.N - p.base)
}

// model is what the tab must hold: each record's version (its Name is "v<version>") and the
// notes people wrote beside records.
type model struct {
	version map[string]int
	note    map[string]bool // the record's row carries "note of <key>"
	// userRows counts rows a person added and wrote in (no key, "user row" in the notes).
	userRows int
}

func chaosRow(key string, v int) table.Row {
	day := 1 + int(key[len(key)-1])%28
	return table.Row{table.TextCell(key), table.TextCell(fmt.Sprintf("v%d", v)),
		table.TimeCell(at(fmt.Sprintf("2026-02-%02d 10:00:00", day))), table.NumberCell(float64(v)), table.BoolCell(v%2 == 0)}
}

// check asserts the invariants: no blank row inside the data, no duplicate key, every record
// of the model present with its latest values, every note beside its own record, none lost.
//
// allowBlank accepts entirely blank rows: a person inserted them after the Sink's last read
// (the Sink removes them at its next read).
func (m *model) check(t *testing.T, srv *sheetsfake.Server, tab, when string, allowBlank bool) {
	t.Helper()
	d, err := srv.Display(sheetID, tab)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	users := 0
	for i, r := range d[1:] {
		r = append(r, make([]string, 6)...)
		key := r[0]
		switch {
		case key == "" && r[5] == "user row":
			if strings.Join(r[:5], "") != "" {
				t.Fatalf("%s: row %d, a person's row, holds contract values: %q", when, i+2, r[:6])
			}
			users++
			continue
		case key == "" && allowBlank && strings.Join(r[:6], "") == "":
			continue
		case key == "":
			if os.Getenv("SHEETS_DEBUG") != "" {
				t.Logf("sheet: %q", d)
			}
			t.Fatalf("%s: row %d is blank inside the data: %q", when, i+2, r[:6])
		case seen[key]:
			t.Fatalf("%s: key %s twice (row %d)", when, key, i+2)
		}
		seen[key] = true
		v, ok := m.version[key]
		if !ok {
			t.Fatalf("%s: row %d holds %s, which should not be there", when, i+2, key)
		}
		if want := fmt.Sprintf("v%d", v); r[1] != want || r[3] != fmt.Sprint(v) {
			t.Fatalf("%s: row %d: %s has %q, %q; want %q (values beside the wrong key)", when, i+2, key, r[1], r[3], want)
		}
		switch note := r[5]; {
		case note != "" && note != "note of "+key:
			t.Fatalf("%s: row %d: record %s is beside the note %q", when, i+2, key, note)
		case m.note[key] && note == "":
			t.Fatalf("%s: row %d: the note of %s was lost", when, i+2, key)
		}
	}
	for key := range m.version {
		if !seen[key] {
			t.Fatalf("%s: record %s is missing", when, key)
		}
	}
	if users != m.userRows {
		t.Fatalf("%s: %d rows a person wrote in without a key, want %d", when, users, m.userRows)
	}
}

// TestPeopleEditWhileTheSinkWrites runs upserts and prunes against people who sort, shuffle,
// insert and delete rows between the Sink's read and its write (and at every other point), and
// against writes that apply and then answer 500, over many seeds: no value ever lands beside
// another record's notes, no row is duplicated or lost.
func TestPeopleEditWhileTheSinkWrites(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	if n, err := strconv.Atoi(os.Getenv("SHEETS_CHAOS_SEEDS")); err == nil && n > 0 {
		seeds = n // a longer soak: SHEETS_CHAOS_SEEDS=1000 go test -run TestPeople
	}
	var slips, refused, faults int
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(seed), 8))
			var opts []sheets.Option
			if os.Getenv("SHEETS_DEBUG") != "" {
				opts = append(opts, sheets.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
			}
			if seed%2 == 1 {
				opts = append(opts, sheets.WithPageRows(16)) // the key column in several ranges
			}
			if seed%3 == 2 {
				opts = append(opts, sheets.WithMaxCells(24)) // writes in chunks, edits between them
			}
			sink, srv := setup(t, opts...)
			p := &person{t: t, srv: srv, tab: small.Tab}
			srv.OnRequest(p.hook)
			m := &model{version: map[string]int{}, note: map[string]bool{}}
			var rows []table.Row
			for i := range 40 {
				key := fmt.Sprintf("k%03d", i)
				rows = append(rows, chaosRow(key, 1))
				m.version[key] = 1
			}
			if _, err := sink.Upsert(ctx, small, rows, nil); err != nil {
				t.Fatal(err)
			}
			widen(t, srv, small.Tab, 1)
			srv.SetCell(sheetID, small.Tab, "F1", "Notes")
			for i := range 40 {
				if i%3 != 0 {
					key := fmt.Sprintf("k%03d", i)
					srv.SetCell(sheetID, small.Tab, fmt.Sprintf("F%d", i+2), "note of "+key)
					m.note[key] = true
				}
			}
			m.check(t, srv, small.Tab, "start", false)
			next := 40
			for op := range 12 {
				// What the person does, and when: before request 1 (protect), 2 (read),
				// 3 (the write: between the read and the write) or later.
				who := sheetsfake.Owner
				if rng.IntN(4) == 0 {
					who = sheetsfake.AnEditor
				}
				when := int64(1 + rng.IntN(4))
				fault := rng.IntN(5) == 0
				pruning := rng.IntN(4) == 0
				var batch []table.Row
				var remove []string
				if !pruning {
					keys := slices.Sorted(func(yield func(string) bool) {
						for k := range m.version {
							if !yield(k) {
								return
							}
						}
					})
					for range 1 + rng.IntN(12) {
						if len(keys) > 0 && rng.IntN(3) > 0 {
							key := keys[rng.IntN(len(keys))]
							m.version[key]++
							batch = append(batch, chaosRow(key, m.version[key]))
						} else {
							key := fmt.Sprintf("k%03d", next)
							next++
							m.version[key] = 1
							batch = append(batch, chaosRow(key, 1))
						}
					}
					if len(keys) > 0 && rng.IntN(3) == 0 {
						key := keys[rng.IntN(len(keys))]
						if !slices.ContainsFunc(batch, func(r table.Row) bool { return r.Key() == key }) {
							remove = append(remove, key)
							delete(m.version, key)
							delete(m.note, key)
						}
					}
				}
				busy := map[string]bool{}
				for _, r := range batch {
					busy[r.Key()] = true
				}
				for _, k := range remove {
					busy[k] = true
				}
				var deleted []string
				userAdded := 0
				kind := rng.IntN(4)
				act := func(n int64) error {
					info, _ := srv.Sheet(sheetID, small.Tab)
					d, _ := srv.Display(sheetID, small.Tab)
					switch kind {
					case 0:
						return srv.SortRows(sheetID, small.Tab, who, rng.IntN(6), nil)
					case 1:
						return srv.SortRows(sheetID, small.Tab, who, 0, rng)
					case 2:
						at, cnt := int64(1+rng.IntN(max(len(d)-1, 1))), int64(1+rng.IntN(3))
						if err := srv.InsertRows(sheetID, small.Tab, who, at, cnt); err != nil {
							return err
						}
						if rng.IntN(2) == 0 { // the person writes in the new rows: they are theirs
							for r := at; r < at+cnt; r++ {
								srv.SetCell(sheetID, small.Tab, fmt.Sprintf("F%d", r+1), "user row")
							}
							userAdded += int(cnt)
						}
						return nil
					default:
						if len(d) < 3 || info.RowCount < 4 {
							return errNoop
						}
						// A record the Sink is not writing in this call (deleting one it
						// writes would make what the sheet must hold depend on timing).
						i := 1 + rng.IntN(len(d)-1)
						if busy[d[i][0]] || d[i][0] == "" {
							return errNoop
						}
						err := srv.DeleteRows(sheetID, small.Tab, who, int64(i), 1)
						if err == nil {
							deleted = append(deleted, d[i][0])
						}
						return err
					}
				}
				if os.Getenv("SHEETS_DEBUG") != "" {
					d, _ := srv.Display(sheetID, small.Tab)
					t.Logf("before op %d: %q", op, d)
				}
				p.arm(when, fault, act)
				p.refuse = rng.IntN(3) == 0
				name := fmt.Sprintf("op %d (person %d as %v before request %d, fault %v)", op, kind, who, when, fault)
				if pruning {
					// Prune the rows of a few days.
					cutoff := at(fmt.Sprintf("2026-02-%02d 00:00:00", 1+rng.IntN(6)))
					_, err := sink.Prune(ctx, small, sheets.PrunePolicy{Expired: func(r sheets.PruneRow) bool { return r.Date.Before(cutoff) }})
					if err != nil {
						t.Fatalf("%s: prune: %v", name, err)
					}
					for key := range m.version {
						if chaosRow(key, 0)[2].T.Before(cutoff) {
							delete(m.version, key)
							delete(m.note, key)
						}
					}
				} else {
					if os.Getenv("SHEETS_DEBUG") != "" {
						t.Logf("batch %v remove %v", batch, remove)
					}
					if _, err := sink.Upsert(ctx, small, batch, remove); err != nil {
						t.Fatalf("%s: upsert: %v", name, err)
					}
				}
				if errors.Is(p.err, errNoop) {
					p.err, p.fired = nil, false
				}
				if p.err != nil {
					if !errors.Is(p.err, sheetsfake.ErrProtected) {
						t.Fatalf("%s: the person's edit failed: %v", name, p.err)
					}
					if who == sheetsfake.Owner || when == 1 {
						t.Fatalf("%s: protection stopped an edit it should not: %v", name, p.err)
					}
					refused++
				} else if p.fired && who == sheetsfake.AnEditor && (when == 2 || when == 3) && !fault {
					t.Fatalf("%s: an editor changed the tab while the Sink held it protected", name)
				}
				if p.fired && fault {
					faults++
				}
				if p.fired && !fault && when == 3 && who == sheetsfake.Owner {
					slips++
				}
				// A person who deleted a record's row deleted it (and its note): a later
				// upsert of that record inserts it again, without a note.
				for _, key := range deleted {
					if _, ok := m.version[key]; ok {
						delete(m.note, key)
						m.version[key] = -1
					}
				}
				m.dropDeleted()
				m.userRows += userAdded
				m.check(t, srv, small.Tab, name, p.fired && !fault && kind == 2 && when >= 3)
				if prot, _ := srv.Protections(sheetID, small.Tab); len(prot) > 0 {
					t.Fatalf("%s: protections left on the tab: %q", name, prot)
				}
			}
		})
	}
	t.Logf("%d seeds: %d edits between read and write by the owner, %d edits refused by protection, %d faults (5xx, a third of them before applying)",
		seeds, slips, refused, faults)
}

// errNoop is a person's edit that found nothing to do.
var errNoop = errors.New("nothing to do")

// dropDeleted forgets records a person deleted (version -1).
func (m *model) dropDeleted() {
	for key, v := range m.version {
		if v == -1 {
			delete(m.version, key)
		}
	}
}

// TestWriteAppliedThen500IsNotResent: the write applies, its answer is lost; the Sink reads the
// scratch tab's nonce, sees it applied, and does not append the new rows a second time.
func TestWriteAppliedThen500IsNotResent(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	if _, err := sink.Upsert(ctx, small, []table.Row{row("a", "A", "2026-01-01 00:00:00", 1, true)}, nil); err != nil {
		t.Fatal(err)
	}
	var writes int
	srv.OnRequest(func(c sheetsfake.Call) {
		if c.Write {
			if writes++; writes == 2 { // protect, then the write
				srv.Inject(fakeapi.Fault{Answer: fakeapi.AfterApply, Code: 500})
			}
		}
	})
	res, err := sink.Upsert(ctx, small, []table.Row{row("a", "A2", "2026-01-01 00:00:00", 2, true), row("b", "B", "2026-01-02 00:00:00", 3, false)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sheets.Result{Inserted: 1, Updated: 1}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	want := [][]string{{"ID", "Name", "When", "N", "Ok"}, {"a", "A2", "2026-01-01 00:00:00", "2", "TRUE"}, {"b", "B", "2026-01-02 00:00:00", "3", "FALSE"}}
	if got := display(t, srv, "T"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sheet %q, want %q", got, want)
	}
	if writes != 4 {
		t.Errorf("%d write requests, want 4: protect, the update (applied, answered 500, never resent), the append of b and its formats", writes)
	}
}

// TestSortBetweenReadAndWriteIsRepaired: the owner sorts the tab between the Sink's read and its
// write, so every positional update lands on another record's row; the Sink sees it in the
// write's own response, restores those records from the snapshot and writes its rows again.
func TestSortBetweenReadAndWriteIsRepaired(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	var rows []table.Row
	for i := range 20 {
		rows = append(rows, row(fmt.Sprintf("k%02d", i), fmt.Sprintf("n%02d", i), "2026-01-01 00:00:00", float64(i), true))
	}
	if _, err := sink.Upsert(ctx, small, rows, nil); err != nil {
		t.Fatal(err)
	}
	widen(t, srv, "T", 1)
	for i := range 20 {
		srv.SetCell(sheetID, "T", fmt.Sprintf("F%d", i+2), fmt.Sprintf("note k%02d", i))
	}
	var reqs []string
	srv.OnRequest(func(c sheetsfake.Call) {
		reqs = append(reqs, c.Method)
		if len(reqs) == 3 { // protect, read, then: the owner sorts by Name, descending order of keys
			if err := srv.SortRows(sheetID, "T", sheetsfake.Owner, 3, rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Error(err)
			}
		}
	})
	var upd []table.Row
	for i := range 20 {
		if i%2 == 0 {
			upd = append(upd, row(fmt.Sprintf("k%02d", i), fmt.Sprintf("new%02d", i), "2026-01-02 00:00:00", float64(100+i), false))
		}
	}
	res, err := sink.Upsert(ctx, small, upd, []string{"k19"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 10 || res.Deleted != 1 {
		t.Errorf("result %+v, want 10 updated, 1 deleted", res)
	}
	t.Logf("requests: %s", strings.Join(reqs, ", "))
	d := display(t, srv, "T")
	if len(d) != 20 {
		t.Fatalf("%d rows, want the header and 19", len(d))
	}
	for _, r := range d[1:] {
		var i int
		fmt.Sscanf(r[0], "k%02d", &i)
		wantName := fmt.Sprintf("n%02d", i)
		if i%2 == 0 {
			wantName = fmt.Sprintf("new%02d", i)
		}
		if r[1] != wantName || r[5] != "note "+r[0] {
			t.Errorf("row %q: want name %s beside note %q", r, wantName, "note "+r[0])
		}
	}
}

// TestShuffleDuringALargeBatch: a 20,000-row tab with a note beside every record; the owner
// shuffles it between the read and the write of a batch of 3,000 scattered updates, 500 new
// records and 200 removals. Every value ends beside its own note, nothing is duplicated or lost.
func TestShuffleDuringALargeBatch(t *testing.T) {
	ctx := context.Background()
	sink, srv := setup(t)
	m := &model{version: map[string]int{}, note: map[string]bool{}}
	const n = 20_000
	var rows []table.Row
	for i := range n {
		key := fmt.Sprintf("k%05d", i)
		rows = append(rows, chaosRow(key, 1))
		m.version[key] = 1
	}
	if _, err := sink.Upsert(ctx, small, rows, nil); err != nil {
		t.Fatal(err)
	}
	widen(t, srv, small.Tab, 1)
	notes := make([][]any, n)
	for i := range notes {
		key := fmt.Sprintf("k%05d", i)
		notes[i] = []any{nil, nil, nil, nil, nil, "note of " + key}
		m.note[key] = true
	}
	if err := srv.Fill(sheetID, small.Tab, 1, notes); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var batch []table.Row
	var remove []string
	for _, i := range rng.Perm(n)[:3200] {
		key := fmt.Sprintf("k%05d", i)
		if len(remove) < 200 {
			remove = append(remove, key)
			delete(m.version, key)
			delete(m.note, key)
			continue
		}
		m.version[key] = 2
		batch = append(batch, chaosRow(key, 2))
	}
	for i := n; i < n+500; i++ {
		key := fmt.Sprintf("k%05d", i)
		m.version[key] = 1
		batch = append(batch, chaosRow(key, 1))
	}
	calls := 0
	srv.OnRequest(func(c sheetsfake.Call) {
		if calls++; calls == 3 {
			if err := srv.SortRows(sheetID, small.Tab, sheetsfake.Owner, 0, rng); err != nil {
				t.Error(err)
			}
		}
	})
	start := time.Now()
	res, err := sink.Upsert(ctx, small, batch, remove)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 3000 || res.Inserted != 500 || res.Deleted != 200 {
		t.Errorf("result %+v, want 3000 updated, 500 inserted, 200 deleted", res)
	}
	t.Logf("%d requests (a shuffle between read and write), %v", calls, time.Since(start).Round(time.Millisecond))
	m.check(t, srv, small.Tab, "after the shuffled batch", false)
}
