terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
  }

  # State holds the secret values (hubspot_token, livechat_pat): keep it in a private, access-
  # controlled bucket, e.g. backend "gcs" { bucket = "<project>-tfstate" prefix = "supportsync" }.
}

provider "google" {
  project = var.project_id
  region  = var.region
}
