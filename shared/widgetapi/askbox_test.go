package widgetapi_test

import (
	"strings"
	"testing"

	"supportsync.dev/shared/widgetapi"
)

func TestAskBoxRendersOnlyWhenEnabled(t *testing.T) {
	var b strings.Builder
	d := widgetapi.AskBoxData{Status: widgetapi.AskStatus{Enabled: true, Model: "m"}, Endpoint: "/api/v1/ask", Token: `k1.a"b<c`, Nonce: "n0nce"}
	if err := widgetapi.AskBox.ExecuteTemplate(&b, "ask-box", d); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{`data-endpoint="/api/v1/ask"`, `data-token="k1.a&#34;b&lt;c"`, `nonce="n0nce"`, `<textarea id="ask-question"`, "textContent", "f.link"} {
		if !strings.Contains(html, want) {
			t.Errorf("enabled box lacks %q", want)
		}
	}
	if strings.Contains(html, "innerHTML") {
		t.Error("the box writes HTML from the answer")
	}
	b.Reset()
	d.Status = widgetapi.AskStatus{Reason: "no model"}
	if err := widgetapi.AskBox.ExecuteTemplate(&b, "ask-box", d); err != nil || strings.TrimSpace(b.String()) != "" {
		t.Errorf("disabled box rendered %q (%v)", b.String(), err)
	}
}
