// Package schedulerfake is a Cloud Scheduler v1 REST server for tests: it serves jobs.list
// (with paging), jobs.get, jobs.pause and jobs.resume for the jobs it is given, in the wire
// format of google.golang.org/api/cloudscheduler/v1, and answers other calls with 404.
package schedulerfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Job is a stored job (the API's JSON field names).
type Job struct {
	Name     string `json:"name"` // projects/P/locations/R/jobs/J
	State    string `json:"state"`
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// Server is the fake, an http.Handler.
type Server struct {
	// PageSize caps a list page (default 2, so paging is exercised).
	PageSize int

	mu    sync.Mutex
	jobs  []*Job
	calls []string // "pause J", "resume J"
}

// New returns a server holding jobs.
func New(jobs ...Job) *Server {
	s := &Server{PageSize: 2}
	for _, j := range jobs {
		s.jobs = append(s.jobs, &j)
	}
	slices.SortFunc(s.jobs, func(a, b *Job) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// State returns the state of the job with the given full name ("" if none).
func (s *Server) State(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.Name == name {
			return j.State
		}
	}
	return ""
}

// Calls returns the pause and resume calls made, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func writeErr(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/jobs"):
		parent := strings.TrimSuffix(path, "/jobs") + "/jobs/"
		var all []*Job
		for _, j := range s.jobs {
			if strings.HasPrefix(j.Name, parent) {
				all = append(all, j)
			}
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		end := min(start+s.PageSize, len(all))
		resp := map[string]any{"jobs": all[min(start, len(all)):end]}
		if end < len(all) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	case r.Method == http.MethodPost && (strings.HasSuffix(path, ":pause") || strings.HasSuffix(path, ":resume")):
		name, verb, _ := strings.Cut(path, ":")
		for _, j := range s.jobs {
			if j.Name != name {
				continue
			}
			if verb == "pause" {
				j.State = "PAUSED"
			} else {
				j.State = "ENABLED"
			}
			s.calls = append(s.calls, verb+" "+name[strings.LastIndexByte(name, '/')+1:])
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(j)
			return
		}
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "Job not found.")
	default:
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "unknown call "+r.Method+" "+r.URL.Path)
	}
}
