// The images workspace: x_t of the forward process at the timeline's t (computed off the GUI thread, newest
// request wins), the model's x0_hat and eps_hat, the noise actually added, a histogram of x_t against N(0, 1),
// and background reverse runs (posterior oracle or empirical model; DDPM / DDIM) that are then scrubbable.
// With a digits model the reverse run works on 20x20 digits instead of the open image: SR3 super-resolves a
// held-out digit (or the open image, made grey and 20x20) from its low-resolution view and shows
// low-res | bicubic | SR3 | truth with PSNR / SSIM; the digits DDPM samples a grid of digits from pure noise.
//
//   ImageWorkspace images(&document, &timeline);
//   images.startReverse();          // progress(), then reverseFinished(); cancelReverse() stops it
#pragma once

#include "core/common/types.h"
#include "ui/state/document.h"
#include "ui/state/image_input.h"
#include "ui/state/jobs.h"
#include "ui/widgets/frame_view.h"
#include "ui/widgets/timeline.h"

#include <QElapsedTimer>
#include <QImage>
#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QGroupBox;

namespace diffuscope::ui {

struct ImageSource;    // the forward process and models behind the frames (shared with the worker)
struct ReverseStream;  // a reverse run's frames on their way from the worker

/// An SR3 result shown side by side, with its figures (PSNR in dB with data range 2, SSIM).
struct Sr3Comparison {
  QImage low, bicubic, sr3, truth;  // grey; low is low_side x low_side, the others 20 x 20
  int low_side = 0;
  QString truth_caption;  // "held-out digit 17 (a 3)" or the file name
  double psnr_sr3 = 0, ssim_sr3 = 0, psnr_bicubic = 0, ssim_bicubic = 0;
};

/// What a photo super-resolution shows beside SR3: the low-resolution input, its bicubic upsample and (when
/// simulated) the truth, with bicubic's figures against it (PSNR in dB on [-1, 1] pixels, SSIM).
struct PhotoSrView {
  QImage low, bicubic, truth;  // truth: null unless simulated
  bool simulated = false;
  double psnr_bicubic = 0, ssim_bicubic = 0;
};

/// A reverse run kept for scrubbing: display frames of (a thinned subset of) the steps.
struct ImageReverseRun {
  int start_t = 0;     // t of x_start
  std::vector<int> t;  // t of each kept step's x_t, descending
  std::vector<QImage> x_t, x0_hat, eps_hat;
  std::vector<Histogram> histogram;
  QImage sample;  // the final x_0
  Histogram sample_histogram;
  QString description;  // "posterior oracle, DDIM 100 steps, 3.2 s"
  ImageModelKind kind = ImageModelKind::kImage;
  std::optional<Sr3Comparison> sr3;  // SR3 runs: the side-by-side view
  int samples = 1;                   // digits DDPM: how many digits are in the grid
  bool complete = true;              // false while the run streams in (no sample yet)
  // Photo super-resolution: the panels beside SR3, x0_hat's PSNR against the truth per kept step, the result's.
  std::shared_ptr<const PhotoSrView> photo_sr;
  std::vector<double> psnr_x0_hat;
  double psnr_sample = 0, ssim_sample = 0;
};

class Sr3ComparisonView;
class PanelGrid;

class ImageWorkspace : public QWidget {
  Q_OBJECT

 public:
  ImageWorkspace(Document* document, TimelineModel* timeline, QWidget* parent = nullptr);
  ~ImageWorkspace() override;

  FrameView* mainView() const { return main_view_; }
  LatestJob* frameJobs() { return &frames_; }
  BackgroundTask* reverseTask() { return &reverse_; }
  const ImageReverseRun* reverseRun() const { return run_.get(); }
  /// The t of the frame shown in the main view, or -1 before the first.
  int shownT() const { return shown_t_; }

  /// The SR3 input: a held-out digit (index 0..499 of SplitDigits' test rows) or the open image (-1).
  void setSr3Input(int held_out_index);
  /// How many digits the digits DDPM samples (1..64).
  void setDigitSamples(int count);
  /// The low | bicubic | SR3 | truth view (visible after an SR3 run).
  QWidget* comparisonView() const;

  /// Chooses an image model as the user does: sr3-photo also gets SR3's sampler (one undo step).
  void chooseModel(const QString& name);

  /// Shows or hides the side panels.
  void setShowPredictions(bool show);
  void setShowNoise(bool show);
  void setShowHistogram(bool show);

 public slots:
  /// Starts a reverse run with the document's model, sampler and seed (from noise or from the current t).
  void startReverse();
  void cancelReverse();
  /// Redraws the current frame (e.g. after "new noise").
  void refresh();

 signals:
  void errorOccurred(const QString& title, const QString& message);
  void reverseFinished();
  /// A short status line ("Denoising: step 40 of 100").
  void statusMessage(const QString& message);

 private:
  void onImageChanged();
  void requestFrame();
  void onFrame(quint64 generation, const std::any& result);
  bool showingReverse() const;
  void showReverseFrame();
  void onReverseFinished(const std::any& result);
  void onReverseProgress(qint64 done, qint64 total, const QString& what);
  /// Appends the frames the worker has computed to run_ and follows the newest.
  void drainStream();
  /// Ends a streaming run (cancelled, failed, dropped): its partial frames go.
  void endStream();
  void updateSidePanels();
  void updateInfo();
  void updateModelPanel();
  void startDigitsReverse();
  /// Sizes the panels for the aspect ratio of the image shown.
  void fitPanels(const QImage& image);
  /// The working-size choices for the open image, and the expected time of a run beside them.
  void updateWorkingSize();
  void updateEstimate();
  /// The low-res | bicubic | truth panels of a super-resolution (hidden for other runs).
  void showPhotoSr(const PhotoSrView* view);
  void updateSrNote();
  /// A measured cost of the learned model (seconds per pixel per evaluation) refines the estimate.
  void recordCost(double seconds_per_pixel);

 public:
  /// Seconds per pixel of one learned-model evaluation: measured on this computer, else the prior.
  double secondsPerPixel() const;
  /// The size a run computes at (the working size, or the image's own), steps of the next run, its expected time.
  QSize workingSize() const;
  int reverseSteps() const;
  double expectedSeconds() const;
  QString estimateText() const;

 private:
  Document* document_;
  TimelineModel* timeline_;
  std::shared_ptr<ImageSource> source_;
  std::shared_ptr<const ImageData> snapshot_;
  LatestJob frames_;
  BackgroundTask reverse_;
  std::unique_ptr<ImageReverseRun> run_;
  std::shared_ptr<ReverseStream> stream_;  // while a run streams in
  int newest_t_ = -1;                      // t of its newest frame
  QElapsedTimer step_clock_;               // since the first step: the time left
  qint64 clock_steps_ = 0;
  double last_step_seconds_ = 0.0;
  quint64 fresh_frame_ = 0;
  int shown_t_ = -1;

  FrameView* main_view_;
  FrameView* x0_view_;
  FrameView* eps_view_;
  FrameView* noise_view_;
  HistogramView* histogram_view_;
  PanelGrid* grid_;
  QLabel* info_;
  QCheckBox* show_predictions_;
  QCheckBox* show_noise_;
  QCheckBox* show_histogram_;
  QComboBox* model_box_;
  QPushButton* denoise_button_;
  QPushButton* cancel_button_;
  QProgressBar* progress_;
  QLabel* run_label_;
  QLabel* texture_note_;
  QLabel* working_label_;
  QComboBox* working_box_;
  QLabel* estimate_label_;
  QGroupBox* digits_group_;
  QGroupBox* sr_group_;
  QCheckBox* simulate_box_;
  QSpinBox* sr_samples_box_;
  QLabel* sr_note_;
  FrameView* low_view_;
  FrameView* bicubic_view_;
  FrameView* truth_view_;
  QComboBox* sr3_input_;
  QSpinBox* digit_index_;
  QSpinBox* digit_samples_;
  QLabel* digits_note_;
  Sr3ComparisonView* comparison_;
};

}  // namespace diffuscope::ui
