#include "service/model_registry.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

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

// The path of `file_name` in `dir`, with every link resolved, if it is a file of `dir` itself.
absl::StatusOr<fs::path> ResolveInModelDir(const std::string& dir, std::string_view file_name) {
  if (file_name.empty()) return absl::InvalidArgumentError("the model file name is empty");
  if (file_name.front() == '/') {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\" is an absolute path; give the name of a file in the model directory %s",
        file_name, dir));
  }
  for (const fs::path& part : fs::path(file_name)) {
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "\"%s\" contains \"..\"; only files in the model directory %s can be loaded", file_name,
          dir));
    }
  }
  if (file_name.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\" names a subdirectory; give the name of a file in the model directory %s",
        file_name, dir));
  }
  const std::string_view extension = kModelExtension;
  if (file_name.size() <= extension.size() ||
      file_name.substr(file_name.size() - extension.size()) != extension) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not a *%s model file", file_name, kModelExtension));
  }
  std::error_code error;
  const fs::path real_dir = fs::canonical(dir, error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve model directory ", dir, ": ", error.message()));
  }
  const fs::path real = fs::canonical(real_dir / std::string(file_name), error);
  if (error) {
    return absl::NotFoundError(absl::StrFormat("cannot open \"%s\" in the model directory %s: %s",
                                               file_name, dir, error.message()));
  }
  if (real.parent_path() != real_dir) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "\"%s\" is a link to %s, which is not in the model directory %s", file_name, real.string(), dir));
  }
  return real;
}

}  // namespace

ModelRegistry::ModelRegistry(const Options& options)
    : options_(options), retire_thread_([this] { RetireLoop(); }) {}

ModelRegistry::~ModelRegistry() {
  Drain();
  {
    std::lock_guard lock(mu_);
    models_.clear();
  }
  {
    std::lock_guard lock(retirement_->mu);
    retirement_->stopped = true;
  }
  retirement_->cv.notify_all();
  retire_thread_.join();
}

void ModelRegistry::RetireLoop() {
  Retirement& r = *retirement_;
  std::unique_lock lock(r.mu);
  while (true) {
    r.cv.wait(lock, [&r] { return !r.queue.empty() || r.stopped; });
    if (r.queue.empty()) return;
    std::vector<const ServedModel*> batch = std::move(r.queue);
    r.queue.clear();
    lock.unlock();
    // Drains and joins each one's batcher; by now no request refers to it.
    for (const ServedModel* served : batch) delete served;
    lock.lock();
    r.alive -= batch.size();
    r.cv.notify_all();
  }
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelRegistry::Build(
    const std::string& path, std::string_view file_name) {
  auto built = std::make_unique<ServedModel>();
  built->path = path;
  built->file_name = std::string(file_name);
  PYNQ_ASSIGN_OR_RETURN(built->model, accel::Model::LoadFile(path));
  const std::string& name = built->model->name();
  auto configured = options_.batcher_by_model.find(name);
  const Batcher::Options& batching =
      configured == options_.batcher_by_model.end() ? options_.batcher : configured->second;
  absl::StatusOr<std::unique_ptr<accel::Accelerator>> accelerator =
      backends_->Make(built->model, batching.max_batch_size);
  if (!accelerator.ok()) return Annotate(accelerator.status(), path);
  std::shared_ptr<ModelMetrics>& metrics = metrics_[name];
  if (metrics == nullptr) metrics = std::make_shared<ModelMetrics>();
  built->metrics = metrics;
  absl::StatusOr<std::unique_ptr<ShadowChecker::Registration>> shadow =
      shadow_->Attach(built->model, **accelerator, built->metrics.get());
  if (!shadow.ok()) return Annotate(shadow.status(), absl::StrCat("shadow check of model ", name));
  absl::StatusOr<std::unique_ptr<Batcher>> batcher =
      Batcher::Create(std::move(*accelerator), batching, built->metrics.get());
  if (!batcher.ok()) {
    return Annotate(batcher.status(), absl::StrCat("model ", name));
  }
  built->batcher = std::move(*batcher);
  built->shadow = std::move(*shadow);
  {
    std::lock_guard lock(retirement_->mu);
    ++retirement_->alive;
  }
  // The last reference hands the model to the retirement thread (see "Retiring" in the header).
  return std::shared_ptr<const ServedModel>(
      built.release(), [retirement = retirement_](const ServedModel* served) {
        std::unique_lock lock(retirement->mu);
        if (!retirement->stopped) {
          retirement->queue.push_back(served);
          retirement->cv.notify_all();
          return;
        }
        --retirement->alive;
        lock.unlock();
        delete served;
      });
}

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Create(const Options& options) {
  PYNQ_ASSIGN_OR_RETURN(std::vector<fs::path> files, ListModelFiles(options.model_dir));
  std::unique_ptr<ModelRegistry> registry(new ModelRegistry(options));
  PYNQ_ASSIGN_OR_RETURN(registry->backends_, accel::BackendFactory::Create(options.backend));
  PYNQ_ASSIGN_OR_RETURN(registry->shadow_,
                        ShadowChecker::Create({.rate = options.shadow_check_rate}));
  std::lock_guard change(registry->change_mu_);
  for (const fs::path& file : files) {
    PYNQ_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                          registry->Build(file.string(), file.filename().string()));
    if (std::shared_ptr<const ServedModel> other = registry->Find(served->model->name());
        other != nullptr) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "%s and %s both hold a model named \"%s\"", other->path, served->path,
          served->model->name()));
    }
    std::lock_guard lock(registry->mu_);
    registry->models_.emplace(served->model->name(), std::move(served));
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

absl::StatusOr<ModelRegistry::LoadResult> ModelRegistry::Load(std::string_view file_name) {
  PYNQ_ASSIGN_OR_RETURN(const fs::path path, ResolveInModelDir(options_.model_dir, file_name));
  std::lock_guard change(change_mu_);
  if (stopped_accepting_) {
    return absl::UnavailableError("the daemon is shutting down: no model is loaded");
  }
  LoadResult result;
  PYNQ_ASSIGN_OR_RETURN(result.loaded, Build(path.string(), file_name));
  std::lock_guard lock(mu_);
  std::shared_ptr<const ServedModel>& slot = models_[result.loaded->model->name()];
  result.replaced = std::exchange(slot, result.loaded);
  return result;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelRegistry::Unload(std::string_view name) {
  std::lock_guard change(change_mu_);
  if (stopped_accepting_) {
    return absl::UnavailableError("the daemon is shutting down: no model is unloaded");
  }
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) {
    return absl::NotFoundError(absl::StrFormat("model \"%s\" is not loaded", name));
  }
  std::shared_ptr<const ServedModel> unloaded = std::move(it->second);
  models_.erase(it);
  return unloaded;
}

std::shared_ptr<const ServedModel> ModelRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const ServedModel>> ModelRegistry::models() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const ServedModel>> out;
  out.reserve(models_.size());
  for (const auto& [name, served] : models_) out.push_back(served);
  return out;
}

void ModelRegistry::StopAccepting() {
  std::lock_guard change(change_mu_);
  StopAcceptingLocked();
}

void ModelRegistry::StopAcceptingLocked() {
  stopped_accepting_ = true;
  for (const auto& m : models()) m->batcher->StopAccepting();
}

void ModelRegistry::Drain() {
  // Held throughout: no model is built or swapped while the served ones drain.
  std::lock_guard change(change_mu_);
  StopAcceptingLocked();
  const std::vector<std::shared_ptr<const ServedModel>> served = models();
  for (const auto& m : served) m->batcher->Drain();
  // What is left alive besides the served models are versions that were replaced or unloaded:
  // they finish what they accepted and reach the retirement thread on their own.
  std::unique_lock lock(retirement_->mu);
  retirement_->cv.wait(lock, [&] { return retirement_->alive <= served.size(); });
}

}  // namespace pynq::service
