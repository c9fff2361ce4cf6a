#include "service/model_registry.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "accel/status_macros.h"

namespace pynq::service {

namespace fs = std::filesystem;

namespace {

constexpr char kModelExtension[] = ".pim";

absl::StatusOr<std::vector<fs::path>> ListModelFiles(const std::string& dir) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot read model directory ", dir, ": ", error.message()));
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : it) {
    if (entry.path().extension() == kModelExtension && entry.is_regular_file(error)) {
      files.push_back(entry.path());
    }
  }
  if (files.empty()) {
    return absl::NotFoundError(
        absl::StrCat("model directory ", dir, " holds no *", kModelExtension, " model file"));
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Create(const Options& options) {
  ASSIGN_OR_RETURN(std::vector<fs::path> files, ListModelFiles(options.model_dir));
  std::unique_ptr<ModelRegistry> registry(new ModelRegistry());
  ASSIGN_OR_RETURN(registry->backends_, BackendFactory::Create(options.backend));
  for (const fs::path& file : files) {
    auto served = std::make_unique<ServedModel>();
    served->path = file.string();
    ASSIGN_OR_RETURN(served->model, accel::Model::LoadFile(served->path));
    if (const ServedModel* other = registry->Find(served->model->name()); other != nullptr) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "%s and %s both hold a model named \"%s\"", other->path, served->path,
          served->model->name()));
    }
    auto configured = options.batcher_by_model.find(served->model->name());
    const Batcher::Options& batching =
        configured == options.batcher_by_model.end() ? options.batcher : configured->second;
    absl::StatusOr<std::unique_ptr<accel::Accelerator>> accelerator = registry->backends_->Make(
        served->model, std::max(options.cpu.max_batch_size, batching.max_batch_size));
    if (!accelerator.ok()) {
      return absl::Status(accelerator.status().code(),
                          absl::StrCat(served->path, ": ", accelerator.status().message()));
    }
    served->fpga = dynamic_cast<const accel::FpgaAccelerator*>(accelerator->get());
    served->metrics = std::make_unique<ModelMetrics>();
    absl::StatusOr<std::unique_ptr<Batcher>> batcher =
        Batcher::Create(std::move(*accelerator), batching, served->metrics.get());
    if (!batcher.ok()) {
      return absl::Status(batcher.status().code(), absl::StrCat("model ", served->model->name(),
                                                                ": ", batcher.status().message()));
    }
    served->batcher = std::move(*batcher);
    const std::string name = served->model->name();
    registry->models_.emplace(name, std::move(served));
  }
  for (const auto& [name, batching] : options.batcher_by_model) {
    if (registry->Find(name) == nullptr) {
      return absl::NotFoundError(absl::StrFormat(
          "batching is configured for model \"%s\", but %s holds no such model", name,
          options.model_dir));
    }
  }
  return registry;
}

const ServedModel* ModelRegistry::Find(std::string_view name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.get();
}

std::vector<const ServedModel*> ModelRegistry::models() const {
  std::vector<const ServedModel*> out;
  for (const auto& [name, served] : models_) out.push_back(served.get());
  return out;
}

void ModelRegistry::Drain() {
  for (auto& [name, served] : models_) served->batcher->Drain();
}

}  // namespace pynq::service
