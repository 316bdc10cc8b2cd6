terraform {
  # 1.11: write-only arguments (secret_data_wo) and ephemeral variables keep the tokens out of
  # the plan and the state.
  required_version = ">= 1.11"

  # Pinned to the current major versions. No .terraform.lock.hcl is committed: it could not be
  # produced where this was written (no registry access). Make it once, on a machine that can
  # reach registry.terraform.io, and commit it:
  #   terraform -chdir=terraform init
  #   terraform -chdir=terraform providers lock -platform=linux_amd64 -platform=darwin_arm64 -platform=darwin_amd64
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    # google_project_service_identity (the Pub/Sub service agent) is only in the beta provider.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }

  # The state holds no token (they are write-only), but it names every resource: keep it in a
  # private bucket, e.g. backend "gcs" { bucket = "<project>-tfstate" prefix = "supportsync" }.
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
