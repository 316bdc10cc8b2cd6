package widgetapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"supportsync.dev/shared/secrets"
)

// Mint asks the widget API at baseURL for an embed token with the admin key and returns the
// answer, whose Path (joined to baseURL) is a working URL.
func Mint(ctx context.Context, hc *http.Client, baseURL string, adminKey secrets.Secret, req MintRequest) (MintResponse, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	body, err := json.Marshal(req)
	if err != nil {
		return MintResponse{}, fmt.Errorf("widgetapi.Mint: %w", err)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/api/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return MintResponse{}, fmt.Errorf("widgetapi.Mint: %w", err)
	}
	r.Header.Set("Authorization", "Bearer "+string(adminKey))
	r.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(r)
	if err != nil {
		return MintResponse{}, fmt.Errorf("widgetapi.Mint: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return MintResponse{}, fmt.Errorf("widgetapi.Mint: %d: %s", resp.StatusCode, e.Error)
	}
	var m MintResponse
	if err := json.Unmarshal(b, &m); err != nil {
		return MintResponse{}, fmt.Errorf("widgetapi.Mint: %w", err)
	}
	return m, nil
}
