// Command benchsandbox serves the devstack's sandbox HubSpot (limits off) and an in-memory
// Sheets store on fixed loopback ports, so a peer script can be timed against the same data the
// devstack generates (same seed, same count).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/sheets/sheetsfake"
)

func main() {
	n := flag.Int("tickets", 100000, "sandbox tickets")
	seed := flag.Int64("seed", 1, "sandbox seed (the devstack's default is 1)")
	hsAddr := flag.String("hubspot", "127.0.0.1:18081", "HubSpot listen address")
	shAddr := flag.String("sheets", "127.0.0.1:18082", "Sheets listen address")
	flag.Parse()
	ds := hubspotfake.Generate(*seed, *n, time.Now())
	hs := hubspotfake.New(ds, hubspotfake.WithToken("x"))
	// In memory: a saved snapshot would cost each write as much as the workbook is large,
	// which the real API does not, and would penalise a client for each request it makes.
	sh := sheetsfake.New(sheetsfake.AutoCreate())
	go func() { log.Fatal(http.ListenAndServe(*hsAddr, hs)) }()
	go func() { log.Fatal(http.ListenAndServe(*shAddr, clearNoop(sh))) }()
	fmt.Printf("HUBSPOT_API_BASE_URL=http://%s HUBSPOT_TOKEN=x SHEETS_API_ENDPOINT=http://%s/\n", *hsAddr, *shAddr)
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	<-c
}

// clearNoop answers values:clear, which the local Sheets store does not implement, as done
// without changing anything: the peer clears a tab this fresh data directory never filled, so
// the answer is what the real API would leave.
func clearNoop(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":clear") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "{}")
			return
		}
		h.ServeHTTP(w, r)
	})
}
