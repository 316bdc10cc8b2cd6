package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"supportsync.dev/cmd/internal/sandboxdata"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/livechat/livechatfake"
	"supportsync.dev/shared/sheets/sheetsfake"
)

// SandboxToken is the HubSpot token the sandbox accepts.
const SandboxToken = "pat-sandbox-devstack"

// SandboxLiveChatAccount and SandboxLiveChatPAT are the credentials the sandbox LiveChat
// accepts (HTTP Basic, as the real API).
const (
	SandboxLiveChatAccount = "5e1b7c3a-0d2f-4c8e-9a61-devstack0001"
	SandboxLiveChatPAT     = "dal:sandbox-devstack-livechat-pat"
)

// sandboxLiveChatRate is the real LiveChat API limit, applied unless limits are turned off.
const sandboxLiveChatRate = 180

// Sandbox holds the local stand-ins the stack started: a HubSpot and a LiveChat that speak
// the real wire formats (with their rate limits unless turned off) and a Sheets v4-compatible
// store that persists under the data directory and writes an .xlsx a person can open.
type Sandbox struct {
	HubSpot   *hubspotfake.Server // nil when HUBSPOT_API_BASE_URL is set
	Tickets   *hubspotfake.Dataset
	LiveChat  *livechatfake.Server // nil when LIVECHAT_API_BASE_URL is set
	Chats     *livechatfake.Dataset
	Sheets    *sheetsfake.Fake // nil when SHEETS_API_ENDPOINT is set
	SheetPath string           // the .xlsx of the local sheet
	local     *localSheet
	servers   []*http.Server
}

// slow delays every request to h by latency (until the client gives up), as a distant or
// loaded API answers: a sandbox with latency makes runs take several fetch invocations.
func slow(h http.Handler, latency time.Duration) http.Handler {
	if latency <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
			h.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}

// serve starts an HTTP server for h on a free loopback port and returns its URL.
func (sb *Sandbox) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	sb.servers = append(sb.servers, srv)
	go srv.Serve(l)
	return "http://" + l.Addr().String(), nil
}

// Close stops the sandbox servers and saves the local sheet.
func (sb *Sandbox) Close() {
	for _, s := range sb.servers {
		s.Close()
	}
	if sb.local != nil {
		sb.local.Close()
	}
}

// startSandbox starts what the configuration does not point elsewhere, and fills env with
// its addresses and credentials.
func startSandbox(ctx context.Context, opts Options, env map[string]string) (*Sandbox, error) {
	sb := &Sandbox{}
	if env["HUBSPOT_API_BASE_URL"] == "" {
		sb.Tickets = sandboxdata.Tickets(opts.Seed, opts.SandboxTickets, time.Now())
		hopts := []hubspotfake.Option{hubspotfake.WithToken(SandboxToken)}
		if opts.SandboxLimits {
			hopts = append(hopts, hubspotfake.WithLimits(100, 5))
		}
		sb.HubSpot = hubspotfake.New(sb.Tickets, hopts...)
		url, err := sb.serve(slow(sb.HubSpot, opts.SandboxLatency))
		if err != nil {
			return nil, err
		}
		env["HUBSPOT_API_BASE_URL"] = url
		env["HUBSPOT_TOKEN"] = SandboxToken
		delete(env, "HUBSPOT_TOKEN_SECRET")
		if !opts.SandboxLimits {
			env["HUBSPOT_RATE_PER_10S"] = "0"
			env["HUBSPOT_SEARCH_RATE_PER_SECOND"] = "0"
		}
		fmt.Fprintf(opts.Out, "  sandbox HubSpot on %s: %s%s\n", url, sb.Tickets, latencyNote(opts.SandboxLatency))
	}
	if env["LIVECHAT_API_BASE_URL"] == "" {
		sb.Chats = livechatfake.Generate(opts.Seed, opts.SandboxChats, time.Now())
		rate := 0
		if opts.SandboxLimits {
			rate = sandboxLiveChatRate
		}
		sb.LiveChat = livechatfake.New(sb.Chats, livechatfake.WithCredentials(SandboxLiveChatAccount, SandboxLiveChatPAT),
			livechatfake.WithRatePerMinute(rate))
		url, err := sb.serve(slow(sb.LiveChat, opts.SandboxLatency))
		if err != nil {
			return nil, err
		}
		env["LIVECHAT_API_BASE_URL"] = url
		env["LIVECHAT_ACCOUNT_ID"] = SandboxLiveChatAccount
		env["LIVECHAT_PAT"] = SandboxLiveChatPAT
		delete(env, "LIVECHAT_PAT_SECRET")
		if !opts.SandboxLimits {
			env["LIVECHAT_RATE_PER_MINUTE"] = "0"
		}
		fmt.Fprintf(opts.Out, "  sandbox LiveChat on %s: %d threads, %d agents, %d bots%s\n", url, sb.Chats.Len(), len(sb.Chats.Agents), len(sb.Chats.Bots), latencyNote(opts.SandboxLatency))
	}
	// The sandbox team config names the sandbox's people; it is used only when both sources
	// are sandboxes, so it never renames or excludes anyone in a real (or another) account,
	// whose ids could collide with the sandbox's. Otherwise the built-in default applies.
	if env["TEAM_CONFIG"] == "" && sb.HubSpot != nil && sb.LiveChat != nil {
		path, err := writeSandboxTeam(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox team config: %w", err)
		}
		env["TEAM_CONFIG"] = path
		fmt.Fprintf(opts.Out, "  sandbox team config %s\n", path)
	}
	// The local sheet stands in unless a Sheets server (SHEETS_API_ENDPOINT) or a spreadsheet
	// (SPREADSHEET_ID alone: the real Google Sheets, with application default credentials) is
	// given.
	if env["SHEETS_API_ENDPOINT"] == "" && env["SPREADSHEET_ID"] == "" {
		env["SPREADSHEET_ID"] = "local"
		dir := filepath.Join(opts.DataDir, "sheets")
		ls, err := openLocalSheet(dir, time.Second, writeXLSX, sheetsfake.AutoCreate())
		if err != nil {
			return nil, err
		}
		sb.local, sb.Sheets = ls, ls.Fake
		url, err := sb.serve(ls.Fake)
		if err != nil {
			return nil, err
		}
		env["SHEETS_API_ENDPOINT"] = url + "/"
		sb.SheetPath = filepath.Join(dir, env["SPREADSHEET_ID"]+".xlsx")
		fmt.Fprintf(opts.Out, "  local sheet on %s, saved to %s\n", url, sb.SheetPath)
	}
	return sb, nil
}

func latencyNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%s per request)", d)
}
