// Package schedules lists, pauses and resumes supportsync's Cloud Scheduler jobs through the
// Cloud Scheduler REST API (google.golang.org/api/cloudscheduler/v1), with the caller's
// credentials (gcloud auth application-default login; cloud-platform scope), or against
// another server speaking the same wire format (tests).
//
// supportsync's jobs are the ones Terraform creates (terraform/scheduler.tf):
// sync-<source>-incremental and sync-<source>-full.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/api/cloudscheduler/v1"
	"google.golang.org/api/option"
)

// Job is one of supportsync's scheduler jobs.
type Job struct {
	Name        string // short name, e.g. sync-tickets-incremental
	Source      string // tickets or chats
	State       string // ENABLED, PAUSED, DISABLED, UPDATE_FAILED
	Schedule    string // cron
	TimeZone    string
	LastAttempt string // RFC 3339, empty if never run
	NextRun     string // RFC 3339
	LastError   string // status of the last attempt when it failed
}

// Client manages the jobs of one project and region.
type Client struct {
	svc    *cloudscheduler.Service
	parent string // projects/P/locations/R
}

// New returns a Client for project and region. A non-empty endpoint points it at another
// server, without credentials.
func New(ctx context.Context, project, region, endpoint string) (*Client, error) {
	if project == "" || region == "" {
		return nil, errors.New("schedules: project and region are required")
	}
	var opts []option.ClientOption
	if endpoint != "" {
		if !strings.HasSuffix(endpoint, "/") {
			endpoint += "/"
		}
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication())
	}
	svc, err := cloudscheduler.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloudscheduler.NewService: %w", err)
	}
	return &Client{svc: svc, parent: "projects/" + project + "/locations/" + region}, nil
}

// sourceOf returns the source of a supportsync job name, or "".
func sourceOf(short string) string {
	for _, src := range []string{"tickets", "chats"} {
		if strings.HasPrefix(short, "sync-"+src+"-") {
			return src
		}
	}
	return ""
}

// Jobs lists supportsync's jobs of the sources given ("tickets", "chats"; none = both),
// sorted by name.
func (c *Client) Jobs(ctx context.Context, sources ...string) ([]Job, error) {
	var out []Job
	call := c.svc.Projects.Locations.Jobs.List(c.parent).PageSize(500)
	err := call.Pages(ctx, func(resp *cloudscheduler.ListJobsResponse) error {
		for _, j := range resp.Jobs {
			short := j.Name[strings.LastIndexByte(j.Name, '/')+1:]
			src := sourceOf(short)
			if src == "" || (len(sources) > 0 && !slices.Contains(sources, src)) {
				continue
			}
			job := Job{Name: short, Source: src, State: j.State, Schedule: j.Schedule, TimeZone: j.TimeZone,
				LastAttempt: j.LastAttemptTime, NextRun: j.ScheduleTime}
			if j.Status != nil && j.Status.Code != 0 {
				job.LastError = fmt.Sprintf("code %d: %s", j.Status.Code, j.Status.Message)
			}
			out = append(out, job)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cloudscheduler: list jobs in %s: %w", c.parent, err)
	}
	slices.SortFunc(out, func(a, b Job) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Pause pauses the jobs (short names); a job already paused stays paused. It returns the
// jobs as they are afterwards.
func (c *Client) Pause(ctx context.Context, jobs []Job) ([]Job, error) {
	return c.set(ctx, jobs, "PAUSED", func(name string) (*cloudscheduler.Job, error) {
		return c.svc.Projects.Locations.Jobs.Pause(name, &cloudscheduler.PauseJobRequest{}).Context(ctx).Do()
	})
}

// Resume resumes the jobs (short names); a job already enabled stays enabled.
func (c *Client) Resume(ctx context.Context, jobs []Job) ([]Job, error) {
	return c.set(ctx, jobs, "ENABLED", func(name string) (*cloudscheduler.Job, error) {
		return c.svc.Projects.Locations.Jobs.Resume(name, &cloudscheduler.ResumeJobRequest{}).Context(ctx).Do()
	})
}

func (c *Client) set(ctx context.Context, jobs []Job, want string, call func(name string) (*cloudscheduler.Job, error)) ([]Job, error) {
	var errs []error
	out := make([]Job, 0, len(jobs))
	for _, j := range jobs {
		if j.State == want {
			out = append(out, j)
			continue
		}
		got, err := call(c.parent + "/jobs/" + j.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("cloudscheduler: %s: %w", j.Name, err))
			out = append(out, j)
			continue
		}
		j.State = got.State
		out = append(out, j)
	}
	return out, errors.Join(errs...)
}
