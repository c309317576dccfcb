"""Recommended QM settings (partial driver inputs, merged over ``driver.DEFAULT_INPUT``).

FAST      cheap screening / CI: B3LYP/6-31G on a coarse grid, at most 8 loose optimisation
          steps (no convergence required), RESP still at HF/6-31G* (AMBER convention).
          Butane with every property: ~20 s on 2 CPU cores.
MODERATE  the research-report level: B3LYP/6-31G(d), geomeTRIC default thresholds, fine
          grid (level 3) and tight SCF (1e-9) for the final energy/properties.  Speed
          settings (validated in benchmarks/qm_speed.py): optimisation steps use grid
          level 1, conv_tol 1e-7 and density fitting; the final SCF starts from the last
          optimisation density and properties reuse the converged final SCF.
PRECISE   B3LYP-D3(BJ)/def2-TZVPD (diffuse functions for anions / EA), grid level 4,
          conv_tol 1e-10, geomeTRIC defaults; optimisation steps with DF and grid level 3.
          D3(BJ) needs the ``pyscf-dispersion`` package on the computer that runs the driver.
"""
import copy

FAST = {
    "method": {"xc": "b3lyp", "basis": "6-31g", "grid_level": 1, "density_fit": True,
               "dispersion": None,
               "scf": {"conv_tol": 1e-7, "max_cycle": 100, "level_shift": 0.0, "damping": 0.0,
                       "newton": False, "init_guess": "minao"}},
    "optimization": {"enabled": True, "max_steps": 8, "require_convergence": False,
                     "convergence": {"convergence_set": "GAU_LOOSE"},
                     "grid_level": None, "conv_tol": None, "density_fit": None},
    "properties": {"polarizability": True, "solvation": {"water": 78.3553, "octanol": 9.86},
                   "ionization": True, "esp_surface": True, "bond_orders": True,
                   "spatial_extent": True, "thermo": False, "volume_grid_spacing_bohr": 0.3,
                   "esp_surface_max_points": 3000, "pcm_lebedev_order": 17,
                   "resp": {"enabled": True, "xc": "hf", "basis": "6-31g*"}},
}

MODERATE = {
    "method": {"xc": "b3lyp", "basis": "6-31g*", "grid_level": 3, "density_fit": False,
               "dispersion": None,
               "scf": {"conv_tol": 1e-9, "max_cycle": 150, "level_shift": 0.0, "damping": 0.0,
                       "newton": False, "init_guess": "minao"}},
    "optimization": {"enabled": True, "max_steps": 100, "require_convergence": True,
                     "convergence": {},
                     "grid_level": 1, "conv_tol": 1e-7, "density_fit": True},
    "properties": {"polarizability": True, "solvation": {"water": 78.3553, "octanol": 9.86},
                   "ionization": True, "esp_surface": True, "bond_orders": True,
                   "spatial_extent": True, "thermo": False, "volume_grid_spacing_bohr": 0.2,
                   "esp_surface_max_points": 6000,
                   "resp": {"enabled": True, "xc": "hf", "basis": "6-31g*"}},
}

PRECISE = {
    "method": {"xc": "b3lyp", "basis": "def2-tzvpd", "grid_level": 4, "density_fit": False,
               "dispersion": "d3bj",
               "scf": {"conv_tol": 1e-10, "max_cycle": 200, "level_shift": 0.0, "damping": 0.0,
                       "newton": False, "init_guess": "minao"}},
    "optimization": {"enabled": True, "max_steps": 200, "require_convergence": True,
                     "convergence": {},
                     "grid_level": 3, "conv_tol": 1e-8, "density_fit": True},
    "properties": {"polarizability": True, "solvation": {"water": 78.3553, "octanol": 9.86},
                   "ionization": True, "esp_surface": True, "bond_orders": True,
                   "spatial_extent": True, "thermo": True, "volume_grid_spacing_bohr": 0.15,
                   "esp_surface_max_points": 10000,
                   "resp": {"enabled": True, "xc": "hf", "basis": "6-31g*"}},
}

# Stock PySCF settings at the moderate level (the benchmark's baseline): every optimisation
# step at the production grid/threshold, no density fitting.
MODERATE_STOCK = copy.deepcopy(MODERATE)
MODERATE_STOCK["optimization"].update({"grid_level": None, "conv_tol": None,
                                       "density_fit": None})

LEVELS = {"fast": FAST, "moderate": MODERATE, "precise": PRECISE}


def get_level(name):
    """Deep copy of a level dict by name ('fast', 'moderate', 'precise')."""
    return copy.deepcopy(LEVELS[name])
