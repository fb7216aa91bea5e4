
aÏ€R“¤&ÇØéğ¡²ÃÔ 0€ôò›Ÿ4R
th-committeeTHZbLAMMKHVNCNj*
CNMM*LArETrend: sodium cyanide declared as fertiliser on the Boten-Mohan route‚NPrecursor drums labelled as fertiliser with forged phytosanitary certificates.