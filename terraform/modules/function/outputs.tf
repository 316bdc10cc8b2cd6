output "name" {
  description = "Function name."
  value       = google_cloudfunctions2_function.this.name
}

output "uri" {
  description = "HTTPS URL of the function (its Cloud Run service)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "service" {
  description = "Name of the Cloud Run service behind the function."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}

output "service_account_email" {
  description = "E-mail of the function's runtime service account."
  value       = google_service_account.fn.email
}

output "service_account_member" {
  description = "IAM member string (serviceAccount:...) of the runtime service account."
  value       = google_service_account.fn.member
}

output "subscription" {
  description = "Name of the push subscription that feeds the function, or null."
  value       = try(google_pubsub_subscription.push["this"].name, null)
}

output "source_hash" {
  description = "Content hash of the deployed upload folder (same as `supportsync package` prints)."
  value       = local.source_hash
}
