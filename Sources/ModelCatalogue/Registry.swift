import Hotspots
import Linkage
import Modelling
import Routes

extension ModelRegistry {
  /// Every model the toolkit ships, in the order tables show them. A new model is one file in its
  /// family's module (a `ModelSpec` and its `FittedModel`) and one line here; spec files, `anpr train`,
  /// model files, `anpr models`, `compare` and the contract tests then know it.
  public static let standard = ModelRegistry([
    ModelRegistration(LastWindowModel.self, about: "each bin's count one week earlier (seasonal naive baseline)"),
    ModelRegistration(HistoricalMeanModel.self, about: "mean by local hour of week, shrunk to each site's mean"),
    ModelRegistration(DailyProfileModel.self, about: "mean by local time of day over the last four weeks, shrunk to each site's mean"),
    ModelRegistration(KernelDensityModel.self, about: "Gaussian kernel density of all past counts, spread by the weekly profile"),
    ModelRegistration(ProspectiveHotspotModel.self, about: "prospective hotspot: recent and near counts weigh more (Bowers et al. 2004)"),
    ModelRegistration(PoissonHotspotModel.self, about: "Poisson / negative-binomial log-linear GLM with seasonal, site × time-of-day and recent-activity terms"),
    ModelRegistration(SelfExcitingModel.self, about: "self-exciting point process fitted by EM (Mohler et al. 2011)",
                      quickParameters: #"{"max_iterations": 5}"#),
    ModelRegistration(MarkovRouteModel.self, about: "variable-order Markov chain over sites with time bands and travel times"),
    ModelRegistration(NextAppearanceModel.self, about: "renewal × hour-of-week × entry-site model of a repeat vehicle's next visit"),
    ModelRegistration(LinkageModel.self, about: "periods of use of different cars linked to one actor by behaviour"),
    ModelRegistration(CoTravelDetector.self, about: "pairs of vehicles read together more often than chance (convoys)"),
  ])
}
