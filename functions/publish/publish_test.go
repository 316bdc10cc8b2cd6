package publish

import (
	"testing"

	"supportsync.dev/shared/app/apptest"
)

// TestBadConfigurationFailsWithEveryProblem calls the handler as the framework would, with no
// configuration: the invocation fails and the error names every missing variable at once.
func TestBadConfigurationFailsWithEveryProblem(t *testing.T) {
	apptest.FailsOnBadConfig(t, publishDataset, "SPREADSHEET_ID")
}
