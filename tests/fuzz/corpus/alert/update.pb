
z;N_`q‚“¤µÆ×èù]Š/{L>šm~/ŠA 0àİò4R$
th-customs-maesaiTH"	TH-MAESAIZbMMr#Count revised: 1.35 million tabletsz-Second compartment found under the bed liner.