# Grants the first apply in a fresh project depends on, and the wait for them to propagate.
#
# - The builds run as supportsync-build. Cloud Functions (2nd gen) copies our upload into its
#   own bucket gcf-v2-sources-<project number>-<region> and Cloud Build fetches it from there,
#   so a grant on our bucket alone fails with "Access to bucket gcf-v2-sources-… denied"
#   (terraform-provider-google #20571; the provider's builder example grants the role
#   project-wide). Object viewer project-wide is read access to the project's objects.
# - Authenticated push: projects whose Pub/Sub service agent predates 2021-04-08 need it to
#   hold Token Creator on the account that signs the push OIDC tokens. Granted on that one
#   account only (never project-wide); harmless in newer projects.
# - IAM is eventually consistent: a function created seconds after its grants may fail to build
#   or deploy. The functions wait for time_sleep.iam_propagation (the provider's own builder
#   example does the same).

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"
}

resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  # A new grant (e.g. a role added to the list above) waits again.
  triggers = {
    build_roles = join(",", sort([for m in google_project_iam_member.build : m.role]))
    push_agent  = google_service_account_iam_member.push_token_creator.member
    dead_letter = google_pubsub_topic_iam_member.dead_letter_publisher.member
  }

  depends_on = [
    google_project_iam_member.build,
    google_service_account_iam_member.push_token_creator,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}
