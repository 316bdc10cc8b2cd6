# Operators run `supportsync check` (and the other CLI commands) with their own gcloud login.
# Reading the sheet needs the Sheets scope, which a user's application-default login does not
# carry, and the sheet is shared with the process function's account, not with them: check
# therefore impersonates fn-process, which needs Token Creator on that one account.

resource "google_service_account_iam_member" "operator_impersonates_process" {
  for_each = toset(var.operators)

  service_account_id = "projects/${var.project_id}/serviceAccounts/${module.process.service_account_email}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value
}
