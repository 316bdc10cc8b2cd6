package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"supportsync.dev/shared/widgetapi"
)

// AskStatus asks widgetapi whether POST /api/v1/ask is on: it is when GEMINI_API_KEY (or
// GEMINI_API_KEY_SECRET) or ASK_VERTEX_LOCATION is in the environment, and then the real
// model answers, at ASK_MODEL_BASE_URL when that is set (a local server speaking the Gemini
// REST wire format).
func (s *Stack) AskStatus(ctx context.Context) (widgetapi.AskStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.WidgetsURL()+"/api/v1/ask", nil)
	if err != nil {
		return widgetapi.AskStatus{}, err
	}
	req.Header.Set("Authorization", "Bearer "+string(s.AdminKey()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return widgetapi.AskStatus{}, fmt.Errorf("ask status: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return widgetapi.AskStatus{}, fmt.Errorf("ask status: %s: %s", resp.Status, b)
	}
	var st widgetapi.AskStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return widgetapi.AskStatus{}, fmt.Errorf("ask status: %w", err)
	}
	return st, nil
}
