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
	"time"

	"supportsync.dev/cmd/internal/sandboxdata"
	"supportsync.dev/shared/hubspot/hubspotfake"
	"supportsync.dev/shared/sheets/sheetsfake"
)

func main() {
	n := flag.Int("tickets", 100000, "sandbox tickets")
	seed := flag.Int64("seed", 1, "sandbox seed (the devstack's default is 1)")
	hsAddr := flag.String("hubspot", "127.0.0.1:18081", "HubSpot listen address")
	shAddr := flag.String("sheets", "127.0.0.1:18082", "Sheets listen address")
	flag.Parse()
	ds := sandboxdata.Tickets(*seed, *n, time.Now())
	hs := hubspotfake.New(ds, hubspotfake.WithToken("x"))
	// In memory: a saved snapshot would cost each write as much as the workbook is large,
	// which the real API does not, and would penalise a client for each request it makes.
	sh := sheetsfake.New(sheetsfake.AutoCreate())
	go func() { log.Fatal(http.ListenAndServe(*hsAddr, hs)) }()
	go func() { log.Fatal(http.ListenAndServe(*shAddr, sh)) }()
	fmt.Printf("HUBSPOT_API_BASE_URL=http://%s HUBSPOT_TOKEN=x SHEETS_API_ENDPOINT=http://%s/\n", *hsAddr, *shAddr)
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	<-c
}
